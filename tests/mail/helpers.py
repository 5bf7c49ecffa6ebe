"""Shared setup of the mail tests: a member's mailbox on the test Dovecot."""

from __future__ import annotations

from mail import secrets
from mail.models import Mailbox
from mail.parsing import parse
from mail.services.capture import capture
from tests import factories
from tests.mail.servers import PASSWORD, Dovecot, message


def mailbox_for(
    member, dovecot: Dovecot, *, private: bool = False, user: str = ""
) -> tuple[Mailbox, str]:
    """A mailbox of `member` on a fresh Dovecot account, or on `user` (saved directly:
    the connect service and its login check have tests of their own)."""
    user = user or dovecot.new_user()
    mailbox = Mailbox.objects.create(
        user=member.user,
        email=member.user.email,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security="none",
        username=user,
        password_encrypted=secrets.encrypt(PASSWORD),
        sent_folder="Sent",
        is_private=private,
    )
    return mailbox, user


def captured(org, *, attachment: bytes = b"%PDF-1.4 quote", owner=None):
    """A kept message with an attachment, from a new contact of `org` (call inside its
    tenant): what the thread and attachment pages show."""
    contact = factories.ContactFactory()
    msg = message(
        sender=contact.email,
        to=(owner or org.rep).user.email,
        message_id=f"walker-{contact.pk}@m.test",
    )
    msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="quote.pdf")
    kept = capture(
        parse(msg.as_bytes()), owner=(owner or org.rep).user, source="imap", outgoing=False
    )
    return kept.message
