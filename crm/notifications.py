"""Notifications: in-app and e-mail, each created once per deterministic key.

`notify()` is what jobs and services call. The e-mail goes out after the creating
transaction commits, and `deliver_email()` claims the row under a lock first, so a
retried job or two racing workers never send it twice.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from crm.models import Notification, NotificationKind, NotificationPreference, User
from crm.tenancy import current_tenant


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
) -> Notification | None:
    """Create the notification unless one with this key exists for the recipient.

    Returns the new notification, or None when it already existed (nothing is sent
    again) or when the recipient turned both channels off for this kind.
    """
    if kind not in NotificationKind.values:
        raise ValueError(f"Unknown notification kind {kind!r}")
    pref = preferences_for(recipient).get(kind)
    in_app, email = (pref.in_app, pref.email) if pref else (True, True)
    if not (in_app or email):
        return None
    values = {
        "kind": kind,
        "title": title[:200],
        "body": body,
        "url": url,
        "email_wanted": email,
        # Mail-only notices are kept (for the key) but born read, so the bell ignores them.
        "read_at": None if in_app else timezone.now(),
    }
    try:
        with transaction.atomic():
            notification, created = Notification.objects.get_or_create(
                recipient=recipient, key=key, defaults=values
            )
    except IntegrityError:  # a concurrent writer inserted the same key first
        return None
    if not created:
        return None
    if email:
        tenant_id = current_tenant().pk
        transaction.on_commit(lambda: deliver_email(notification.pk, tenant_id=tenant_id))
    return notification


def deliver_email(notification_id: int, *, tenant_id: int) -> bool:
    """Send the notification's e-mail once; True when this call sent it."""
    from crm.models import Tenant
    from crm.tenancy import tenant_context

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
