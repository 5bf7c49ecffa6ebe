"""Mail and calendar capture: members' mailboxes, the messages Keel keeps of them, their
attachments and the records they are linked to, and the members' calendar feeds.

Every model is tenant-owned (row-level security in migration 0001). One module per
concern; import the models from here: `mailboxes` (a member's IMAP account and its
folders' sync state), `messages` (messages, threads, links to records, attachments),
`calendar` (invitations found in mail, the private ICS feed tokens), `workspace`
(the forward/BCC address, e-mail templates).
"""

from mail.models.calendar import CalendarFeed, Invitation, InvitationContact
from mail.models.mailboxes import Mailbox, MailboxFolder
from mail.models.messages import EmailAttachment, EmailLink, EmailMessage, EmailThread
from mail.models.workspace import EmailTemplate, InboundAddress

__all__ = [
    "CalendarFeed",
    "EmailAttachment",
    "EmailLink",
    "EmailMessage",
    "EmailTemplate",
    "EmailThread",
    "InboundAddress",
    "Invitation",
    "InvitationContact",
    "Mailbox",
    "MailboxFolder",
]
