"""Notifications: in-app and e-mail, each created once per deterministic key.

`notify()` is what jobs and services call. The e-mail goes out after the creating
transaction commits, and `deliver_email()` claims the row under a lock first, so a
retried job or two racing workers never send it twice.

Two rules keep the bell worth reading:
- nobody hears of their own action: `notify(actor=…)` sends nothing when the actor is
  the recipient;
- what falls together is told once: inside `grouped()` (a scan's run, an import chunk)
  the notices are held, and at its end each member gets, per kind, the notice itself
  when it is alone, or one digest listing them when several fell together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from crm.metrics import count_notification
from crm.models import Notification, NotificationKind, NotificationPreference, Tenant, User
from crm.templatetags.keel import tenant_reverse
from crm.tenancy import current_tenant, tenant_context

DIGEST_LIST = 15  # notices named in a digest; the rest are counted

# A digest's title per kind ("5 deals went stale"); {n} is the number of notices.
DIGEST_TITLES = {
    NotificationKind.TASK_DUE: "{n} tasks falling due",
    NotificationKind.STALE_DEAL: "{n} deals went stale",
    NotificationKind.RENEWAL: "{n} contracts up for renewal",
    NotificationKind.ASSIGNMENT: "{n} new records for you",
    NotificationKind.CHURN_RISK: "{n} customers at risk",
}


@dataclass(frozen=True)
class _Held:
    """A notice `grouped()` holds: its row exists, hidden, until the block ends."""

    notification: Notification
    in_app: bool  # the recipient's channels for its kind
    email: bool
    line: str
    digest_url: str


_held: ContextVar[list[_Held] | None] = ContextVar("keel_held_notices", default=None)


def notification_key(kind: str, obj: str, threshold: str = "", window: str = "") -> str:
    """The deterministic key: kind, object, threshold, window (empty parts dropped)."""
    return ":".join(part for part in (kind, obj, threshold, window) if part)[:200]


def preferences_for(user: User) -> dict[str, NotificationPreference]:
    return {p.kind: p for p in NotificationPreference.objects.filter(user=user)}


def notify(
    *,
    recipient: User,
    kind: str,
    key: str,
    title: str,
    body: str = "",
    url: str = "",
    actor: User | None = None,
    line: str = "",
    digest_url: str = "",
) -> Notification | None:
    """Create the notification unless one with this key exists for the recipient.

    `actor` is whoever did what the notice is about (None: an automation); a member is
    never told of their own action. Inside `grouped()` the new notice is held: written
    but hidden until the block ends, when it shows or a digest replaces it; `line` is how
    a digest lists it (the title by default), `digest_url` where a digest of this kind
    leads (a filtered list).

    Returns the new notification, or None when it already existed (nothing is sent
    again), when it is about the recipient's own action, or when the recipient turned
    both channels off for this kind.
    """
    if kind not in NotificationKind.values:
        raise ValueError(f"Unknown notification kind {kind!r}")
    if actor is not None and actor.pk == recipient.pk:
        count_notification(kind=kind, outcome="suppressed")
        return None
    held = _held.get()
    notification, in_app, email = _create(
        recipient=recipient,
        kind=kind,
        key=key,
        title=title,
        body=body,
        url=url,
        hidden=held is not None,
    )
    if notification is not None and held is not None:
        held.append(_Held(notification, in_app, email, line or title, digest_url or url))
    return notification


@contextmanager
def grouped() -> Iterator[None]:
    """Hold the notices sent inside the block; at its end send, per recipient and kind,
    the notice itself when it is alone and one digest when several fell together.

    Use it around one run of an automation, inside its transaction. A held notice is
    written at once, hidden (read, no e-mail), so its key still guards it and a
    savepoint rolled back inside the block takes it away; the end of the block shows
    what remains or replaces it by the digest. A digest's key names the recipient, the
    kind, the tenant's local day and the notices it stands for. Which notices a run
    sends is decided, as without grouping, by each subject's done-once mark
    (AutomationLog) and its notice's key. A nested block joins the outer one; nothing is
    sent when the block raises (its transaction rolls back).
    """
    if _held.get() is not None:
        yield
        return
    token = _held.set([])
    try:
        yield
        held = _held.get() or []
    finally:
        _held.reset(token)
    _send_held(held)


def _send_held(held: list[_Held]) -> None:
    alive = set(
        Notification.objects.filter(pk__in=[h.notification.pk for h in held]).values_list(
            "pk", flat=True
        )
    )
    groups: dict[tuple[int, str], list[_Held]] = {}
    for h in held:
        if h.notification.pk in alive:
            groups.setdefault((h.notification.recipient_id, h.notification.kind), []).append(h)
    day = timezone.now().astimezone(current_tenant().tz).date().isoformat()
    for (recipient_id, kind), notices in groups.items():
        if len(notices) == 1:
            _show(notices[0])
            continue
        Notification.objects.filter(pk__in=[h.notification.pk for h in notices]).delete()
        count = len(notices)
        count_notification(kind=kind, outcome="digested", n=count)
        names = [f"• {h.line}" for h in notices[:DIGEST_LIST]]
        if count > DIGEST_LIST:
            names.append(f"… and {count - DIGEST_LIST} more")
        links = {h.digest_url for h in notices}
        keys = "\n".join(sorted(h.notification.key for h in notices))
        stands_for = hashlib.sha256(keys.encode()).hexdigest()[:16]
        _create(
            recipient=notices[0].notification.recipient,
            kind=kind,
            key=notification_key(kind, f"user-{recipient_id}", "digest", f"{day}:{stands_for}"),
            title=DIGEST_TITLES.get(kind, "{n} notices").format(n=count),
            body="\n".join(names),
            url=links.pop() if len(links) == 1 else _notification_list_url(),
        )


def _notification_list_url() -> str:
    return tenant_reverse("notification-list")


def _create(
    *, recipient: User, kind: str, key: str, title: str, body: str, url: str, hidden: bool = False
) -> tuple[Notification | None, bool, bool]:
    """Insert the notice unless its key exists; (notice or None, in app, by e-mail).

    A hidden notice is born read and wants no e-mail until `_show` (see `grouped`)."""
    pref = preferences_for(recipient).get(kind)
    in_app, email = (pref.in_app, pref.email) if pref else (True, True)
    if not (in_app or email):
        count_notification(kind=kind, outcome="suppressed")
        return None, in_app, email
    values = {
        "kind": kind,
        "title": title[:200],
        "body": body,
        "url": url,
        "email_wanted": email and not hidden,
        # Mail-only notices are kept (for the key) but born read, so the bell ignores them.
        "read_at": None if in_app and not hidden else timezone.now(),
    }
    try:
        with transaction.atomic():
            notification, created = Notification.objects.get_or_create(
                recipient=recipient, key=key, defaults=values
            )
    except IntegrityError:  # a concurrent writer inserted the same key first
        count_notification(kind=kind, outcome="duplicate")
        return None, in_app, email
    if not created:
        count_notification(kind=kind, outcome="duplicate")
        return None, in_app, email
    if hidden:  # counted when grouped() shows it or folds it into a digest
        notification.recipient = recipient
        return notification, in_app, email
    count_notification(kind=kind, outcome="created")
    if email:
        _mail_on_commit(notification)
    return notification, in_app, email


def _show(held: _Held) -> None:
    """Unhide a notice `grouped()` held: unread when wanted in the app, mailed if wanted."""
    notification = held.notification
    notification.email_wanted = held.email
    if held.in_app:
        notification.read_at = None
    notification.save(update_fields=["email_wanted", "read_at"])
    count_notification(kind=notification.kind, outcome="created")
    if held.email:
        _mail_on_commit(notification)


def _mail_on_commit(notification: Notification) -> None:
    tenant_id = current_tenant().pk
    transaction.on_commit(lambda: deliver_email(notification.pk, tenant_id=tenant_id))


def deliver_email(notification_id: int, *, tenant_id: int) -> bool:
    """Send the notification's e-mail once; True when this call sent it."""
    tenant = Tenant.objects.get(pk=tenant_id)
    with transaction.atomic(), tenant_context(tenant):
        notification = (
            Notification.objects.select_for_update()
            .select_related("recipient")
            .filter(pk=notification_id, email_wanted=True, emailed_at__isnull=True)
            .first()
        )
        if notification is None:
            return False
        context = {
            "notification": notification,
            "tenant": tenant,
            "base_url": settings.KEEL_BASE_URL,
        }
        send_mail(
            subject=f"[{tenant.name}] {notification.title}",
            message=render_to_string("crm/notification_email.txt", context),
            from_email=None,
            recipient_list=[notification.recipient.email],
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
        count_notification(kind=notification.kind, outcome="emailed")
    return True


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])


def mark_all_read(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def save_preferences(user: User, choices: dict[str, tuple[bool, bool]]) -> None:
    """choices: kind -> (in_app, email)."""
    with transaction.atomic():
        for kind, (in_app, email) in choices.items():
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"in_app": in_app, "email": email}
            )
