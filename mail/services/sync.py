"""Mailbox sync over IMAP (imapclient): INBOX and the Sent folder, incrementally.

Each folder remembers its UIDVALIDITY and the last UID read. A sync reads the headers of
the new messages in batches, fetches the whole message only for those with a contact of
the workspace among their people, captures them (mail.services.capture) and moves the
folder's last UID on, one transaction per batch: a sync cut short resumes where its last
batch ended, and capture's Message-ID check makes a retried batch store nothing twice.
A changed UIDVALIDITY (the server renumbered the folder) reads the folder again from the
start, without duplicates for the same reason.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from contacts.selectors import contacts_by_email
from crm.celery import app as celery_app
from crm.models import Tenant
from crm.tenancy import tenant_context
from mail import secrets
from mail.models import EmailMessage, Mailbox, MailboxFolder
from mail.models.mailboxes import Security
from mail.parsing import parse
from mail.services.capture import capture, customers, internal_addresses
from mail.services.invitations import apply_invitations

HEADERS = b"BODY.PEEK[HEADER.FIELDS (FROM TO CC MESSAGE-ID)]"
HEADERS_KEY = b"BODY[HEADER.FIELDS (FROM TO CC MESSAGE-ID)]"
SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "[Gmail]/Sent Mail", "INBOX.Sent")
BACKOFF_MAX = timedelta(hours=6)


class MailboxError(Exception):
    """What went wrong, in words for the mailbox page."""


@dataclass
class SyncResult:
    seen: int = 0
    logged: int = 0
    folders: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    host: str
    port: int
    security: str
    username: str
    password: str


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.MAIL_CA_FILE or None)
    return context


def _tls_reason(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"its certificate is not trusted ({exc.verify_message}). A server with a private "
            "certificate needs MAIL_CA_FILE."
        )
    return f"{exc.reason or exc}."


@contextmanager
def connect(account: Account) -> Iterator[IMAPClient]:
    """A logged-in IMAP connection, or MailboxError saying why not."""
    timeout = settings.MAIL_IMAP_TIMEOUT
    try:
        client = IMAPClient(
            account.host,
            port=account.port,
            ssl=account.security == Security.SSL,
            ssl_context=_tls() if account.security == Security.SSL else None,
            timeout=timeout,
        )
    except socket.gaierror as exc:
        raise MailboxError(f"The server name {account.host} was not found.") from exc
    except TimeoutError as exc:
        raise MailboxError(f"{account.host}:{account.port} did not answer in {timeout} s.") from exc
    except ssl.SSLError as exc:
        raise MailboxError(
            f"The secure connection to {account.host} failed: {_tls_reason(exc)}"
        ) from exc
    except OSError as exc:
        raise MailboxError(
            f"Could not connect to {account.host}:{account.port} ({exc.strerror or exc})."
        ) from exc
    try:
        if account.security == Security.STARTTLS:
            try:
                client.starttls(_tls())
            except ssl.SSLError as exc:
                raise MailboxError(
                    f"STARTTLS failed on {account.host}: {_tls_reason(exc)}"
                ) from exc
            except IMAPClientError as exc:
                raise MailboxError(f"STARTTLS failed on {account.host}: {exc}.") from exc
        try:
            client.login(account.username, account.password)
        except LoginError as exc:
            raise MailboxError(
                "The server refused the user name or password. Many providers want an app "
                "password here rather than your usual one."
            ) from exc
        yield client
    except (IMAPClientError, OSError) as exc:
        raise MailboxError(f"The server broke off the connection: {exc}.") from exc
    finally:
        with suppress(IMAPClientError, OSError):
            client.logout()


def sent_folder(client: IMAPClient) -> str:
    """The folder the server marks as Sent (RFC 6154), else one by a usual name, else ""."""
    folders = client.list_folders()
    for flags, _delimiter, name in folders:
        if b"\\Sent" in flags:
            return name
    names = {name for _flags, _delimiter, name in folders}
    return next((n for n in SENT_NAMES if n in names), "")


def check(account: Account) -> str:
    """Log in once and find the Sent folder: what connecting a mailbox does first."""
    with connect(account) as client:
        return sent_folder(client)


def account_of(mailbox: Mailbox) -> Account:
    try:
        password = secrets.decrypt(mailbox.password_encrypted)
    except secrets.UnreadableSecret as exc:
        raise MailboxError(str(exc)) from exc
    return Account(
        mailbox.imap_host, mailbox.imap_port, mailbox.imap_security, mailbox.username, password
    )


@contextmanager
def _in(tenant: Tenant) -> Iterator[None]:
    with transaction.atomic(), tenant_context(tenant):
        yield


def _folders(mailbox: Mailbox) -> list[MailboxFolder]:
    wanted = [(MailboxFolder.Role.INBOX, "INBOX")]
    if mailbox.sent_folder:
        wanted.append((MailboxFolder.Role.SENT, mailbox.sent_folder))
    found = []
    for role, name in wanted:
        folder, _ = MailboxFolder.objects.get_or_create(
            mailbox=mailbox, role=role, defaults={"name": name, "tenant": mailbox.tenant}
        )
        if folder.name != name:
            folder.name, folder.uidvalidity, folder.last_uid = name, None, 0
            folder.save(update_fields=["name", "uidvalidity", "last_uid"])
        found.append(folder)
    return found


def _wanted(headers: dict[int, bytes], *, internal: set[str]) -> list[int]:
    """The UIDs whose headers name a contact of the workspace and that it has not kept."""
    parsed = {uid: parse(raw) for uid, raw in headers.items()}
    people = {
        uid: [p.address for p in customers(p, internal=internal)] for uid, p in parsed.items()
    }
    addresses = {a for found in people.values() for a in found}
    if not addresses:
        return []
    known = {e.lower() for e in contacts_by_email(addresses).values_list("email", flat=True)}
    kept = set(
        EmailMessage.objects.filter(
            message_id__in=[p.message_id for p in parsed.values()]
        ).values_list("message_id", flat=True)
    )
    return [
        uid
        for uid, p in parsed.items()
        if known.intersection(people[uid]) and p.message_id not in kept
    ]


def _sync_folder(
    client: IMAPClient, mailbox: Mailbox, folder: MailboxFolder, result: SyncResult
) -> None:
    status = client.select_folder(folder.name, readonly=True)
    validity = int(status[b"UIDVALIDITY"])
    if folder.uidvalidity != validity:
        with _in(mailbox.tenant):
            folder.uidvalidity, folder.last_uid = validity, 0
            folder.save(update_fields=["uidvalidity", "last_uid"])
    uids = sorted(
        u for u in client.search(["UID", f"{folder.last_uid + 1}:*"]) if u > folder.last_uid
    )
    batch_size = settings.MAIL_SYNC_BATCH
    outgoing = folder.role == MailboxFolder.Role.SENT
    own = mailbox.email.lower()
    for start in range(0, len(uids), batch_size):
        batch = uids[start : start + batch_size]
        heads = client.fetch(batch, [HEADERS])
        with _in(mailbox.tenant):
            internal = internal_addresses() | {own}
            wanted = _wanted(
                {u: d[HEADERS_KEY] for u, d in heads.items() if HEADERS_KEY in d}, internal=internal
            )
        bodies = client.fetch(wanted, [b"BODY.PEEK[]"]) if wanted else {}
        with _in(mailbox.tenant):
            for uid in wanted:
                raw = bodies.get(uid, {}).get(b"BODY[]")
                if raw is None:
                    continue
                parsed = parse(raw)
                is_out = outgoing or (parsed.sender is not None and parsed.sender.address == own)
                kept = capture(
                    parsed,
                    owner=mailbox.user,
                    source=EmailMessage.Source.IMAP,
                    outgoing=is_out,
                    private=mailbox.is_private,
                    internal=internal,
                )
                if kept is not None and kept.created:
                    result.logged += 1
                    apply_invitations(parsed, kept.message)
            folder.last_uid = batch[-1]
            folder.synced_at = timezone.now()
            folder.save(update_fields=["last_uid", "synced_at"])
        result.seen += len(batch)
    result.folders[folder.name] = len(uids)


def _backoff(failures: int) -> timedelta:
    return min(timedelta(minutes=2 ** min(failures, 10)), BACKOFF_MAX)


def _claim(mailbox_id: int) -> bool:
    """Take the mailbox for one sync (a lease: a sync that died frees it when it ends),
    so that beat's scan and "Sync now" never read the same folders at once."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.MAIL_SYNC_LEASE)
    free = Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now)
    return bool(
        Mailbox.objects.filter(free, pk=mailbox_id, is_active=True).update(
            sync_lease_until=lease, next_sync_at=lease
        )
    )


def sync_mailbox(mailbox_id: int, *, tenant: Tenant) -> SyncResult | None:
    """One sync of a mailbox; records the outcome on it (never raises MailboxError).
    None when another sync of it is running or it is gone."""
    with _in(tenant):
        if not _claim(mailbox_id):
            return None
        mailbox = Mailbox.objects.select_related("user", "tenant").get(pk=mailbox_id)
        folders = _folders(mailbox)
    result = SyncResult()
    error = ""
    try:
        with connect(account_of(mailbox)) as client:
            for folder in folders:
                _sync_folder(client, mailbox, folder, result)
    except MailboxError as exc:
        error = str(exc)
    now = timezone.now()
    with _in(tenant):
        mailbox.refresh_from_db()
        mailbox.sync_lease_until = None
        mailbox.last_sync_at = now
        mailbox.messages_seen += result.seen
        mailbox.messages_logged += result.logged
        if error:
            mailbox.failures += 1
            mailbox.last_error = error
            mailbox.next_sync_at = now + _backoff(mailbox.failures)
        else:
            mailbox.failures, mailbox.last_error, mailbox.last_success_at = 0, "", now
            mailbox.next_sync_at = now + timedelta(seconds=settings.MAIL_SYNC_INTERVAL)
        mailbox.save()
    return result


@celery_app.task(name="mail.sync_mailbox", ignore_result=True)
def sync_task(*, tenant_id: int, mailbox_id: int) -> int:
    """A sync of one mailbox (queued by beat's scan, mail.tasks, and by "Sync now")."""
    result = sync_mailbox(mailbox_id, tenant=Tenant.objects.get(pk=tenant_id))
    return result.logged if result else 0
