"""insert_rows writes exactly what bulk_create would: every kind of value, ids set."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from crm.bulk import insert_rows
from crm.models import OutboxEvent


def test_inserted_rows_read_back_equal_and_get_their_ids(tenant_a):
    at = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Berlin moves to summer time
    given = uuid.UUID("12345678-1234-5678-1234-567812345678")
    rows = [
        OutboxEvent(tenant=tenant_a.tenant, event="contact.created", target_type="contacts.contact",
                    target_id=i, payload={"object": {"name": f"Zoë \"{i}\" {{}}", "n": [i, None]}},
                    created_at=at + timedelta(minutes=i), event_id=uuid.uuid4())
        for i in range(3)
    ]  # fmt: skip
    rows[1].event_id = str(given)  # a text UUID takes the field's conversion
    rows[2].dispatched_at = "2026-03-29T02:30:00+02:00"  # so does a text timestamp
    rows[2].target_id = None

    insert_rows(rows)

    assert all(r.pk for r in rows) and len({r.pk for r in rows}) == 3
    stored = {e.pk: e for e in OutboxEvent.objects.filter(pk__in=[r.pk for r in rows])}
    for i, row in enumerate(rows):
        back = stored[row.pk]
        assert back.payload == {"object": {"name": f'Zoë "{i}" {{}}', "n": [i, None]}}
        assert back.created_at == at + timedelta(minutes=i)
        assert back.target_id == (None if i == 2 else i)
    assert stored[rows[1].pk].event_id == given
    assert stored[rows[2].pk].dispatched_at == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert stored[rows[0].pk].dispatched_at is None
