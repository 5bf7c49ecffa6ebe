"""E-mails of notifications that were created but never sent.

`crm.notifications.notify` sends the e-mail after the creating transaction commits. If
the process dies in between, or the mail server refuses, the notification stays with
`email_wanted` and no `emailed_at`; this catches up. `deliver_email` claims each row
under a lock, so a notification is mailed once even if both paths run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet

from crm.models import Notification, Tenant
from crm.notifications import deliver_email
from crm.tenancy import tenant_context

# Leave the normal path time to finish; do not send notices that are days old.
GRACE = timedelta(minutes=2)
GIVE_UP = timedelta(days=2)


def pending_emails(notifications: QuerySet, *, now: datetime) -> QuerySet:
    return notifications.filter(
        email_wanted=True,
        emailed_at__isnull=True,
        created_at__lte=now - GRACE,
        created_at__gt=now - GIVE_UP,
    )


def send_pending_emails(*, tenant_id: int, now: datetime) -> int:
    """Send the tenant's pending e-mails, each in its own transaction; returns how many."""
    tenant = Tenant.objects.get(pk=tenant_id)
    with transaction.atomic(), tenant_context(tenant):
        ids = list(
            pending_emails(Notification.objects.all(), now=now)
            .order_by("created_at")
            .values_list("pk", flat=True)
        )
    return sum(deliver_email(pk, tenant_id=tenant_id) for pk in ids)
