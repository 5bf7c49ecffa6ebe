"""crm.outbox: an event is recorded in the transaction of its change, and its consumers
hear of it once per transaction, after the commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from crm import outbox
from crm.models import OutboxEvent

CALLS: list[int] = []


def record_call(*, tenant_id: int) -> None:
    CALLS.append(tenant_id)


@pytest.fixture
def handler(settings):
    settings.KEEL_EVENT_HANDLERS = ["tests.crm.test_outbox.record_call"]
    CALLS.clear()
    yield CALLS
    CALLS.clear()


def test_an_event_is_stored_with_its_target_and_actor(org_a):
    with org_a.activate():
        event = outbox.publish(
            "contact.created", target=org_a.rep, actor=org_a.admin.user, data={"extra": 1}
        )
        stored = OutboxEvent.objects.get()
    assert stored == event
    assert stored.target_type == "crm.membership"
    assert stored.target_id == org_a.rep.pk
    assert stored.actor == org_a.admin.user
    assert stored.payload == {"object": {"id": org_a.rep.pk}, "extra": 1}
    assert stored.dispatched_at is None


def test_an_event_is_rolled_back_with_its_change(org_a):
    with org_a.activate():
        with transaction.atomic():
            outbox.publish("contact.created", target=org_a.rep)
            transaction.set_rollback(True)
        assert not OutboxEvent.objects.exists()


def test_an_unknown_event_is_refused(org_a):
    with org_a.activate(), pytest.raises(ValueError, match="Unknown event"):
        outbox.publish("contact.exploded", target=org_a.rep)


def test_a_registered_snapshot_shapes_the_payload(org_a):
    outbox.register_snapshot("crm.membership", lambda m: {"id": m.pk, "role": m.role})
    try:
        with org_a.activate():
            event = outbox.publish("contact.updated", target=org_a.manager)
    finally:
        outbox._snapshots.pop("crm.membership")
    assert event.payload["object"] == {"id": org_a.manager.pk, "role": "manager"}


def test_consumers_hear_once_per_transaction_and_only_after_the_commit(
    org_a, org_b, handler, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, org_a.activate():
        outbox.publish("contact.created", target=org_a.rep)
        outbox.publish("contact.updated", target=org_a.rep)
        outbox.publish("task.completed", target=org_a.rep2)
        assert handler == []
    assert handler == [org_a.tenant.pk]
    assert len(callbacks) == 1


def test_nothing_is_heard_of_a_rolled_back_transaction(
    org_a, handler, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        org_a.activate(),
        transaction.atomic(),
    ):
        outbox.publish("contact.created", target=org_a.rep)
        transaction.set_rollback(True)
    assert handler == []


def test_a_failing_consumer_does_not_undo_the_change(
    org_a, settings, django_capture_on_commit_callbacks
):
    settings.KEEL_EVENT_HANDLERS = ["tests.crm.test_outbox.no_such_handler"]
    with django_capture_on_commit_callbacks(execute=True), org_a.activate():
        outbox.publish("contact.created", target=org_a.rep)
    with org_a.activate():
        assert OutboxEvent.objects.count() == 1
