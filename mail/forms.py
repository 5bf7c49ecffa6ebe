"""The mailbox form: what connecting an IMAP (and optionally SMTP) account takes."""

from __future__ import annotations

from django import forms

from mail.models import Mailbox

FIELDS = ["email", "imap_host", "imap_port", "imap_security", "username", "smtp_host",
          "smtp_port", "smtp_security", "is_private"]  # fmt: skip


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        label="App password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted. Most providers (Gmail, Outlook, iCloud) want an app password.",
    )

    class Meta:
        model = Mailbox
        fields = FIELDS
        help_texts = {
            "imap_host": "For example imap.gmail.com or outlook.office365.com.",
            "smtp_host": "To send from Keel through your own server; empty: the workspace's.",
        }

    def __init__(self, *args, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["password"].required = False
            self.fields["password"].help_text = "Leave empty to keep the saved password."
