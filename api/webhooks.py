# Long on purpose: the delivery flow (dispatch, attempt, retry) reads top to bottom, its tasks beside it.
"""Outgoing webhooks: endpoints, turning published events into deliveries, delivering.

The flow: a service publishes an event (crm.outbox, an OutboxEvent in its transaction);
after the commit `events_published` queues `dispatch_events` for the tenant, which
creates one WebhookDelivery per subscribed endpoint (once: unique per endpoint and event)
and queues `deliver` for each. `attempt_delivery` POSTs the signed payload; a failure is
retried with growing pauses, short ones by Celery, long ones by beat's scan, which also
re-queues whatever a lost message or a crashed worker left. Delivery is at least once:
every attempt carries the same idempotency id.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from api.idempotency import TTL
from api.models import IdempotencyKey, WebhookDelivery, WebhookEndpoint
from crm.audit import record_event
from crm.celery import TenantTask
from crm.celery import app as celery_app
from crm.metrics import count_webhook_delivery
from crm.models import Membership, OutboxEvent, Role, User
from crm.notifications import notification_key, notify
from crm.outbox import EVENTS
from crm.tenancy import current_tenant

TEST_EVENT = "ping"
# Pauses after the 1st, 2nd, … failed attempt. Up to CELERY_RETRY_MAX a Celery retry waits
# them out; longer ones are left to beat's scan (a long countdown is redelivered by Redis).
BACKOFF = [
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
]
CELERY_RETRY_MAX = timedelta(minutes=5)
DISPATCH_BATCH = 500
KEEP_EVENTS = timedelta(days=7)
KEEP_DELIVERIES = timedelta(days=30)
USER_AGENT = "Keel-Webhooks/1"


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>"), as receivers check it."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# Endpoints


def check_target(url: str) -> None:
    """Refuse a URL that is not http(s), or whose host is a private address (unless
    WEBHOOK_ALLOW_PRIVATE_TARGETS): Keel must not be a way into its own network."""
    URLValidator(schemes=["http", "https"])(url)
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise ValidationError({"url": f"Cannot resolve {host}."}) from exc
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_global:
            raise ValidationError({"url": "The URL points at a private or local address."})


def _clean_events(events: list[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown or not chosen:
        raise ValidationError({"events": "Choose at least one of the listed events."})
    return chosen


def create_endpoint(
    *, by: User, url: str, events: list[str], description: str = ""
) -> WebhookEndpoint:
    """Subscribe `url` to `events` in the current tenant, with a new signing secret."""
    check_target(url)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            tenant=current_tenant(),
            url=url,
            events=_clean_events(events),
            description=description.strip()[:200],
            secret=new_secret(),
            created_by=by,
        )
        record_event(
            actor=by,
            verb="webhook.created",
            target=endpoint,
            changes={"url": [None, url], "events": [None, endpoint.events]},
        )
    return endpoint


def update_endpoint(
    endpoint: WebhookEndpoint, *, by: User, url: str, events: list[str], description: str = ""
) -> WebhookEndpoint:
    check_target(url)
    before = {"url": endpoint.url, "events": endpoint.events, "description": endpoint.description}
    endpoint.url, endpoint.events = url, _clean_events(events)
    endpoint.description = description.strip()[:200]
    after = {"url": endpoint.url, "events": endpoint.events, "description": endpoint.description}
    changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    if changes:
        with transaction.atomic():
            endpoint.save(update_fields=["url", "events", "description"])
            record_event(actor=by, verb="webhook.updated", target=endpoint, changes=changes)
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint, *, by: User) -> WebhookEndpoint:
    endpoint.secret = new_secret()
    with transaction.atomic():
        endpoint.save(update_fields=["secret"])
        record_event(actor=by, verb="webhook.secret_rotated", target=endpoint)
    return endpoint


def enable_endpoint(endpoint: WebhookEndpoint, *, by: User) -> WebhookEndpoint:
    """Deliver to it again, starting afresh (events that arrived while disabled are lost)."""
    if endpoint.is_active:
        return endpoint
    endpoint.is_active, endpoint.failure_count = True, 0
    endpoint.disabled_at, endpoint.disabled_reason = None, ""
    with transaction.atomic():
        endpoint.save(
            update_fields=["is_active", "failure_count", "disabled_at", "disabled_reason"]
        )
        record_event(actor=by, verb="webhook.enabled", target=endpoint)
    return endpoint


def disable_endpoint(endpoint: WebhookEndpoint, *, by: User | None, reason: str) -> WebhookEndpoint:
    """Stop delivering to it; its pending deliveries are given up. Admins are told when
    the system disables it (`by` None)."""
    if not endpoint.is_active:
        return endpoint
    now = timezone.now()
    endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason[:300]
    with transaction.atomic():
        endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
        given_up = WebhookDelivery.objects.filter(
            endpoint=endpoint, delivered_at__isnull=True, failed_at__isnull=True
        ).update(failed_at=now, last_error="The endpoint was disabled.")
        count_webhook_delivery(outcome="given_up", n=given_up)
        record_event(
            actor=by, verb="webhook.disabled", target=endpoint, changes={"reason": [None, reason]}
        )
        if by is None:
            _tell_admins(endpoint)
    return endpoint


def delete_endpoint(endpoint: WebhookEndpoint, *, by: User) -> None:
    with transaction.atomic():
        record_event(
            actor=by, verb="webhook.deleted", target=endpoint, changes={"url": [endpoint.url, None]}
        )
        endpoint.delete()


def _tell_admins(endpoint: WebhookEndpoint) -> None:
    tenant = current_tenant()
    url = reverse(
        "integrations:webhook-detail", kwargs={"tenant_slug": tenant.slug, "pk": endpoint.pk}
    )
    admins = Membership.objects.filter(is_active=True, role=Role.ADMIN).select_related("user")
    for admin in admins:
        notify(
            recipient=admin.user,
            kind="system",
            key=notification_key(
                "system", f"webhook-{endpoint.pk}", "disabled", endpoint.disabled_at.isoformat()
            ),
            title=f"Webhook disabled after {endpoint.failure_count} failed deliveries",
            body=f"Keel stopped sending events to {endpoint.url}: {endpoint.disabled_reason} "
            "Fix the receiver, send a test, then enable it again.",
            url=url,
        )


def send_test(endpoint: WebhookEndpoint, *, by: User) -> WebhookDelivery:
    """Queue a `ping` to the endpoint (enabled or not): one attempt, shown in the log."""
    event_id = f"evt_{uuid.uuid4().hex}"
    now = timezone.now()
    payload = {
        "id": event_id,
        "type": TEST_EVENT,
        "created_at": now.isoformat(),
        "workspace": current_tenant().slug,
        "data": {"message": f"A test from Keel, sent by {by}."},
    }
    delivery = WebhookDelivery.objects.create(
        tenant=current_tenant(),
        endpoint=endpoint,
        event=TEST_EVENT,
        event_id=event_id,
        payload=payload,
        is_test=True,
        next_attempt_at=now,
    )
    _queue([delivery.pk])
    return delivery


def redeliver(delivery: WebhookDelivery, *, by: User) -> WebhookDelivery:
    """Try a delivery again now (same idempotency id), e.g. after fixing the receiver."""
    if delivery.delivered_at is not None and not delivery.is_test:
        raise ValidationError("This event was delivered.")
    delivery.failed_at, delivery.delivered_at, delivery.next_attempt_at = None, None, timezone.now()
    delivery.attempts = 0
    delivery.save(update_fields=["failed_at", "delivered_at", "next_attempt_at", "attempts"])
    record_event(
        actor=by,
        verb="webhook.redelivered",
        target=delivery.endpoint,
        changes={"event_id": [None, delivery.event_id]},
    )
    _queue([delivery.pk])
    return delivery


# From events to deliveries


def events_published(*, tenant_id: int) -> None:
    """crm.outbox handler (after commit): have the tenant's pending events dispatched."""
    dispatch_events_task.delay(tenant_id=tenant_id)


def payload_of(event: OutboxEvent) -> dict[str, Any]:
    return {
        "id": f"evt_{event.event_id.hex}",
        "type": event.event,
        "created_at": event.created_at.isoformat(),
        "workspace": current_tenant().slug,
        "data": event.payload,
    }


def dispatch_events(*, now: datetime | None = None) -> int:
    """Create the deliveries of the current tenant's pending events; returns how many.

    Each event is marked dispatched in the same transaction, and a delivery is unique per
    endpoint and event, so a dispatch that runs twice creates nothing twice.
    """
    now = now or timezone.now()
    pending = list(
        OutboxEvent.objects.select_for_update(skip_locked=True)
        .filter(dispatched_at__isnull=True)
        .order_by("created_at", "id")[:DISPATCH_BATCH]
    )
    if not pending:
        return 0
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    tenant = current_tenant()
    deliveries = [
        WebhookDelivery(
            tenant=tenant,
            endpoint=endpoint,
            event=event.event,
            event_id=f"evt_{event.event_id.hex}",
            payload=payload_of(event),
            next_attempt_at=now,
        )
        for event in pending
        for endpoint in endpoints
        if event.event in endpoint.events
    ]
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    OutboxEvent.objects.filter(pk__in=[e.pk for e in pending]).update(dispatched_at=now)
    ids = list(
        WebhookDelivery.objects.filter(
            event_id__in={d.event_id for d in deliveries},
            delivered_at__isnull=True,
            failed_at__isnull=True,
        )
        .order_by("pk")  # queued in the order the events happened (best effort: no guarantee)
        .values_list("pk", flat=True)
    )
    _queue(ids)
    return len(ids)


# The services here queue these two tasks, so they are defined beside them (api.tasks
# imports this module, never the reverse); each runs a service under its tenant.


@celery_app.task(base=TenantTask, name="api.dispatch_events", acks_late=True)
def dispatch_events_task(*, tenant_id: int) -> int:
    return dispatch_events()


@celery_app.task(
    base=TenantTask, name="api.deliver_webhook", bind=True, acks_late=True, max_retries=None
)
def deliver_task(self, delivery_id: int, *, tenant_id: int) -> bool:
    outcome = attempt_delivery(delivery_id)
    if outcome.retry_in is not None and not self.request.called_directly:
        # After the attempt is recorded: raising Retry here would roll the record back.
        countdown = int(outcome.retry_in.total_seconds())
        transaction.on_commit(lambda: self.retry(countdown=countdown, throw=False), robust=True)
    return outcome.delivered


def _queue(delivery_ids: list[int]) -> None:
    if not delivery_ids:
        return
    tenant_id = current_tenant().pk

    def send() -> None:
        for pk in delivery_ids:
            deliver_task.delay(pk, tenant_id=tenant_id)

    transaction.on_commit(send, robust=True)


def requeue_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue the current tenant's deliveries whose next attempt is due (beat's scan)."""
    now = now or timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(
            delivered_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    _queue(ids)
    return len(ids)


def purge_old(*, now: datetime | None = None) -> None:
    """Forget dispatched events after a week, deliveries after 30 days, idempotency keys
    after a day (the current tenant's)."""
    now = now or timezone.now()
    OutboxEvent.objects.filter(
        created_at__lt=now - KEEP_EVENTS, dispatched_at__isnull=False
    ).delete()
    WebhookDelivery.objects.filter(created_at__lt=now - KEEP_DELIVERIES).delete()
    IdempotencyKey.objects.filter(created_at__lt=now - TTL).delete()


# Delivering


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    retry_in: timedelta | None = None  # a Celery retry after this pause; None: no retry queued


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """(status, error). Redirects are not followed: a receiver answers where it is."""
    check_target(url)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http(s) only: check_target)
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=settings.WEBHOOK_TIMEOUT) as response:  # nosec B310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"[:300]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:300]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def attempt_delivery(delivery_id: int, *, now: datetime | None = None) -> Outcome:
    """One attempt at a delivery of the current tenant, with the row locked (a duplicate
    task waits, then finds it done or not yet due). Records the answer; on failure plans
    the next attempt, gives up after WEBHOOK_MAX_ATTEMPTS, and disables the endpoint after
    WEBHOOK_DISABLE_AFTER failures in a row. Test pings get one attempt and leave the
    endpoint's failure count alone."""
    now = now or timezone.now()
    delivery = (
        WebhookDelivery.objects.select_for_update()
        .select_related("endpoint")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.delivered_at or delivery.failed_at:
        return Outcome(delivered=bool(delivery and delivery.delivered_at))
    if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
        return Outcome(delivered=False)  # an early duplicate; the planned attempt will come
    endpoint = delivery.endpoint
    if not endpoint.is_active and not delivery.is_test:
        delivery.failed_at, delivery.last_error = now, "The endpoint was disabled."
        delivery.save(update_fields=["failed_at", "last_error"])
        count_webhook_delivery(outcome="given_up")
        return Outcome(delivered=False)

    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Keel-Event": delivery.event,
        "X-Keel-Delivery": delivery.event_id,
        "X-Keel-Timestamp": str(timestamp),
        "X-Keel-Signature": sign(endpoint.secret, timestamp, body),
    }
    started = time.monotonic()
    status, error = _post(endpoint.url, body, headers)
    ok = status is not None and 200 <= status < 300
    delivery.attempts += 1
    delivery.last_status, delivery.last_error, delivery.last_attempt_at = status, error, now
    delivery.history = [
        *delivery.history[-9:],
        {
            "at": now.isoformat(),
            "status": status,
            "error": error,
            "ms": int((time.monotonic() - started) * 1000),
        },
    ]
    retry_in = None
    if ok:
        delivery.delivered_at, delivery.next_attempt_at = now, None
        outcome = "delivered"
    elif delivery.is_test or delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.failed_at, delivery.next_attempt_at = now, None
        outcome = "given_up"
    else:
        pause = BACKOFF[min(delivery.attempts, len(BACKOFF)) - 1]
        delivery.next_attempt_at = now + pause
        retry_in = pause if pause <= CELERY_RETRY_MAX else None
        outcome = "failed"
    delivery.save()
    count_webhook_delivery(outcome=outcome)
    if not delivery.is_test:
        _count(endpoint, ok=ok)
    if not endpoint.is_active:
        retry_in = None
    return Outcome(delivered=ok, retry_in=retry_in)


def _count(endpoint: WebhookEndpoint, *, ok: bool) -> None:
    if ok:
        if endpoint.failure_count:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failure_count=0)
        return
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failure_count=F("failure_count") + 1)
    endpoint.refresh_from_db(fields=["failure_count", "is_active"])
    if endpoint.is_active and endpoint.failure_count >= settings.WEBHOOK_DISABLE_AFTER:
        disable_endpoint(
            endpoint,
            by=None,
            reason=f"{endpoint.failure_count} deliveries in a row failed.",
        )
