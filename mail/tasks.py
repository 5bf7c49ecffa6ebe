"""Beat's mailbox scan: every minute, the mailboxes due for a sync, across tenants, each
handed to `mail.sync_mailbox` (defined beside the sync, mail.services.sync)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from contacts.tasks import SCAN_OPTIONS
from crm.scans import across_tenants
from mail.models import Mailbox
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
