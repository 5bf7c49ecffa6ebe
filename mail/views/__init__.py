"""Mail's pages, one module per part: `mailbox` (a member's mailbox, conversations,
attachments), `calendar` (invitations, the ICS feed), `compose` (sending from Keel),
`inbound` (the workspace's forward/BCC address). Each module lists its own URL
patterns; `mail/urls.py` joins them."""
