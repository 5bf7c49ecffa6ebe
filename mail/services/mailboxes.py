"""Connecting, changing and disconnecting a member's mailbox, and asking for a sync."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.audit import record_event
from crm.models import User
from crm.tenancy import current_tenant
from mail import secrets
from mail.models import Mailbox
from mail.services.sync import Account, MailboxError, check, sync_task

# What the audit trail shows of a mailbox: never the password.
TRACKED = ["email", "imap_host", "imap_port", "imap_security", "username", "smtp_host",
           "smtp_port", "smtp_security", "is_private"]  # fmt: skip


def _check(fields: dict[str, Any], password: str) -> str:
    account = Account(
        fields["imap_host"],
        fields["imap_port"],
        fields["imap_security"],
        fields["username"],
        password,
    )
    try:
        return check(account)
    except MailboxError as exc:
        raise ValidationError(str(exc)) from exc


def connect_mailbox(*, by: User, password: str, **fields: Any) -> Mailbox:
    """Log in at once (ValidationError saying what failed), then keep the mailbox."""
    if Mailbox.objects.filter(user=by).exists():
        raise ValidationError("You have a mailbox connected already; change or disconnect it.")
    sent = _check(fields, password)
    mailbox = Mailbox(
        tenant=current_tenant(),
        user=by,
        password_encrypted=secrets.encrypt(password),
        sent_folder=sent,
        **fields,
    )
    mailbox.full_clean(exclude=["tenant", "user"])
    with transaction.atomic():
        mailbox.save()
        record_event(
            actor=by,
            verb="mailbox.connected",
            target=mailbox,
            changes={
                f: [None, getattr(mailbox, f)]
                for f in TRACKED
                if getattr(mailbox, f) not in ("", None, False)
            },
        )
    return mailbox


def update_mailbox(mailbox: Mailbox, *, by: User, password: str = "", **fields: Any) -> Mailbox:
    """Change the settings; a new password (or server) is checked by logging in first."""
    before = {f: getattr(mailbox, f) for f in TRACKED}
    server_changed = any(
        fields.get(f, before[f]) != before[f]
        for f in ("imap_host", "imap_port", "imap_security", "username")
    )
    if password or server_changed:
        current = password or secrets.decrypt(mailbox.password_encrypted)
        mailbox.sent_folder = _check({**before, **fields}, current)
        if password:
            mailbox.password_encrypted = secrets.encrypt(password)
    for name, value in fields.items():
        setattr(mailbox, name, value)
    mailbox.full_clean(exclude=["tenant", "user"])
    changes = {
        f: [before[f], getattr(mailbox, f)] for f in TRACKED if before[f] != getattr(mailbox, f)
    }
    if password:
        changes["password"] = ["(hidden)", "(changed)"]
    with transaction.atomic():
        if password or server_changed:
            mailbox.failures, mailbox.last_error, mailbox.next_sync_at = 0, "", timezone.now()
        mailbox.save()
        if changes:
            record_event(actor=by, verb="mailbox.updated", target=mailbox, changes=changes)
    return mailbox


def disconnect_mailbox(mailbox: Mailbox, *, by: User) -> None:
    """Forget the account and its password; what was captured stays on the timelines."""
    with transaction.atomic():
        record_event(
            actor=by,
            verb="mailbox.disconnected",
            target=mailbox,
            changes={"email": [mailbox.email, None]},
        )
        mailbox.delete()


def request_sync(mailbox: Mailbox) -> None:
    """ "Sync now": the sync task runs once this transaction commits."""
    tenant_id = current_tenant().pk
    transaction.on_commit(lambda: sync_task.delay(tenant_id=tenant_id, mailbox_id=mailbox.pk))
