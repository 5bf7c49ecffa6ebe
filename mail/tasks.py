"""Beat's scans of mail: every minute, the mailboxes due for a sync, across tenants, each
handed to `mail.sync_mailbox` (defined beside the sync, mail.services.sync); every hour,
the tenants with a meeting that has started and is not yet an activity."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from contacts.tasks import SCAN_OPTIONS, AutomationTask
from crm.celery import app as celery_app
from crm.scans import across_tenants, fan_out, tenant_ids
from mail.models import Invitation, Mailbox
from mail.services import invitations
from mail.services.sync import sync_task


@shared_task(name="mail.scan_mailboxes", **SCAN_OPTIONS)
def scan_mailboxes() -> int:
    due = across_tenants(
        Mailbox.unscoped.filter(
            is_active=True, tenant__is_active=True, next_sync_at__lte=timezone.now()
        ).values_list("tenant_id", "pk")
    )
    count = 0
    for tenant_id, mailbox_id in due:
        sync_task.delay(tenant_id=tenant_id, mailbox_id=mailbox_id)
        count += 1
    return count


# Meetings that happened become activities


@celery_app.task(base=AutomationTask, name="mail.log_held_meetings")
def log_held_meetings(*, tenant_id: int) -> int:
    return invitations.log_held_meetings(timezone.now())


@shared_task(name="mail.scan_held_meetings", **SCAN_OPTIONS)
def scan_held_meetings() -> int:
    """Every hour: tenants with a meeting that has started and is not yet an activity."""
    due = invitations.due_meetings(
        Invitation.unscoped.filter(tenant__is_active=True), now=timezone.now()
    )
    return fan_out(log_held_meetings, tenant_ids(due))
