"""Webhook tasks: beat's scans and the per-tenant tasks they fan out to, thin wrappers that
run api.webhooks' services under their tenant. The two tasks those services queue
themselves (dispatch a tenant's events, deliver one webhook) are defined beside them in
api.webhooks, which this module imports (so the worker registers them), never the reverse."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from api import webhooks
from api.idempotency import TTL
from api.models import IdempotencyKey, WebhookDelivery
from api.webhooks import dispatch_events_task
from crm.celery import TenantTask
from crm.celery import app as celery_app
from crm.models import OutboxEvent
from crm.scans import fan_out, tenant_ids

# The normal path (dispatch on commit, Celery retries) gets this long before beat steps in.
GRACE = timedelta(seconds=30)


@celery_app.task(base=TenantTask, name="api.requeue_webhooks", acks_late=True)
def requeue_task(*, tenant_id: int) -> int:
    return webhooks.requeue_due()


@celery_app.task(base=TenantTask, name="api.purge", acks_late=True)
def purge_task(*, tenant_id: int) -> None:
    webhooks.purge_old()


@celery_app.task(name="api.scan_webhooks")
def scan_webhooks() -> int:
    """Beat, every minute: events nobody dispatched and deliveries whose next attempt is
    due, found in set-based queries over every tenant."""
    now = timezone.now()
    pending = OutboxEvent.unscoped.filter(dispatched_at__isnull=True, created_at__lte=now - GRACE)
    due = WebhookDelivery.unscoped.filter(
        delivered_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=now - GRACE
    )
    return fan_out(dispatch_events_task, tenant_ids(pending)) + fan_out(
        requeue_task, tenant_ids(due)
    )


@celery_app.task(name="api.scan_purge")
def scan_purge() -> int:
    """Beat, hourly: the tenants with events, deliveries or idempotency keys to forget."""
    now = timezone.now()
    found = set(tenant_ids(IdempotencyKey.unscoped.filter(created_at__lt=now - TTL)))
    found |= set(
        tenant_ids(WebhookDelivery.unscoped.filter(created_at__lt=now - webhooks.KEEP_DELIVERIES))
    )
    found |= set(tenant_ids(OutboxEvent.unscoped.filter(created_at__lt=now - webhooks.KEEP_EVENTS)))
    return fan_out(purge_task, sorted(found))
