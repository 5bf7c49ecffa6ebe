"""Domain events for systems outside Keel (webhooks), recorded in the changing transaction.

    from crm.outbox import publish
    publish("deal.created", target=deal, actor=by)

Services call `publish` inside their transaction, beside `record_event`. It stores an
`OutboxEvent` holding a snapshot of the target as the API shows it, so an event exists
exactly when its change committed and says what the record looked like at that moment.
After the commit it calls the consumers named in `settings.KEEL_EVENT_HANDLERS` (crm
cannot import the apps that consume events, e.g. api's webhooks) with the tenant's id,
once per transaction; a beat scan in the consumer catches up with anything a crashed
process left pending. Events are facts, not commands: consumers must not write back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils.module_loading import import_string

from crm.bulk import insert_rows
from crm.models import OutboxEvent, User

logger = logging.getLogger(__name__)

# Every event Keel publishes, with what it means (the webhook screens list these).
EVENTS: dict[str, str] = {
    "contact.created": "A contact was created.",
    "contact.updated": "A contact's fields, owner or lifecycle stage changed.",
    "deal.created": "A deal was opened.",
    "deal.stage_changed": "A deal moved to another stage (won and lost included).",
    "deal.won": "A deal was won.",
    "deal.lost": "A deal was lost.",
    "task.completed": "A task was marked done.",
    "renewal.due": "A won deal's contract reached a renewal notice date.",
}

Snapshot = Callable[[models.Model], dict[str, Any]]
ManySnapshot = Callable[[list[models.Model]], list[dict[str, Any]]]
_snapshots: dict[str, Snapshot] = {}
_many_snapshots: dict[str, ManySnapshot] = {}


def register_snapshot(
    model_label: str, snapshot: Snapshot, *, many: ManySnapshot | None = None
) -> None:
    """How payloads show records of `model_label` ("contacts.contact"); api registers its
    serializers in its AppConfig.ready(). Without one, a payload carries the id only.
    `many(records)` shows a whole list at once (publish_many: thousands in an import)."""
    _snapshots[model_label] = snapshot
    if many is not None:
        _many_snapshots[model_label] = many


def publish(
    event: str,
    *,
    target: models.Model,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> OutboxEvent:
    """Record that `event` happened to `target` in the current tenant's transaction.

    `data` adds JSON-ready facts beside the snapshot (e.g. the stage a deal left).
    Refuses an event name that is not in EVENTS.
    """
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}; add it to crm.outbox.EVENTS.")
    label = target._meta.label_lower
    snapshot = _snapshots.get(label)
    payload = {"object": snapshot(target) if snapshot else {"id": target.pk}, **(data or {})}
    outbox = OutboxEvent.objects.create(
        event=event, target_type=label, target_id=target.pk, actor=actor, payload=payload
    )
    _notify_after_commit(outbox.tenant_id)
    return outbox


def _notify_after_commit(tenant_id: int) -> None:
    # One notice per tenant and transaction, however many events it published (a bulk
    # change of 500 contacts queues one dispatch, not 500).
    key = ("crm.outbox", tenant_id)
    pending = transaction.get_connection().run_on_commit
    if any(getattr(callback, "keel_key", None) == key for _, callback, _ in pending):
        return

    def callback() -> None:
        callback.keel_key = None  # ran (tests may keep run callbacks in the list)
        for path in settings.KEEL_EVENT_HANDLERS:
            import_string(path)(tenant_id=tenant_id)

    callback.keel_key = key
    # robust: the change is committed; a handler that fails (a broker that is down) is
    # logged, and the consumer's beat scan picks the event up later.
    transaction.on_commit(callback, robust=True)


def publish_many(
    event: str, *, targets: list[models.Model], actor: User | None = None
) -> list[OutboxEvent]:
    """`publish` for many targets of one model at once (an import of thousands of records):
    one INSERT for all the events and one notice after the commit."""
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}; add it to crm.outbox.EVENTS.")
    if not targets:
        return []
    label = targets[0]._meta.label_lower
    snapshot, many = _snapshots.get(label), _many_snapshots.get(label)
    if many is not None:
        objects = many(targets)
    else:
        objects = [snapshot(t) if snapshot else {"id": t.pk} for t in targets]
    tenant_id = targets[0].tenant_id
    rows = [
        OutboxEvent(
            tenant_id=tenant_id,
            event=event,
            target_type=label,
            target_id=t.pk,
            actor=actor,
            payload={"object": shown},
        )
        for t, shown in zip(targets, objects, strict=True)
    ]
    insert_rows(rows)
    _notify_after_commit(tenant_id)
    return rows
