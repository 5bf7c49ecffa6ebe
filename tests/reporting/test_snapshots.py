"""Daily snapshots: the state at 00:00 of a day (tenant time), once per tenant and day."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command

from pipeline.models import Deal
from reporting.models import Snapshot, SnapshotDeal
from reporting.services import backfill_snapshots, take_snapshot, tenants_due_for_snapshot
from reporting.tasks import take_daily_snapshot
from tests.reporting.conftest import berlin, make_book


def test_a_snapshot_holds_the_deals_open_at_midnight_with_their_stage_then(tenant_a, book):
    feb = berlin(2026, 2, 1)
    moved = book.deal(created=feb, amount=1000, expected_close=date(2026, 3, 9),
                      moves=[(book.proposal, berlin(2026, 3, 1, 0, 30))])  # fmt: skip
    book.deal(created=feb, amount=2000, moves=[(book.won, berlin(2026, 2, 27))])  # closed
    book.deal(created=berlin(2026, 3, 1), amount=4000)  # created at the very instant
    late_close = book.deal(created=feb, amount=8000, moves=[(book.lost, berlin(2026, 3, 1))])

    snapshot, created = take_snapshot(day=date(2026, 3, 1))

    assert created
    lines = {line.deal_id: line for line in SnapshotDeal.objects.filter(snapshot=snapshot)}
    assert set(lines) == {moved.pk, late_close.pk}  # closed at 00:00 exactly: still open then
    assert (lines[moved.pk].stage_id, lines[moved.pk].probability) == (book.lead.pk, 10)
    assert lines[moved.pk].amount == Decimal("1000.00")
    assert lines[moved.pk].expected_close == date(2026, 3, 9)
    # Its scorecard covers the 30 days before: only the 2000 won on 27 February closed.
    assert snapshot.scorecard["close_rate"] == 1.0
    assert snapshot.scorecard["won_revenue"] == 2000.0


def test_taking_a_snapshot_twice_changes_nothing(tenant_a, book):
    deal = book.deal(created=berlin(2026, 2, 1), amount=1000, expected_close=date(2026, 3, 9))
    first, created = take_snapshot(day=date(2026, 3, 1))
    Deal.objects.filter(pk=deal.pk).update(amount=9999)
    again, created_again = take_snapshot(day=date(2026, 3, 1))
    assert created and not created_again
    assert again.pk == first.pk
    assert Snapshot.objects.count() == 1
    assert list(SnapshotDeal.objects.values_list("amount", flat=True)) == [Decimal("1000.00")]


def test_backfill_creates_only_the_missing_days(tenant_a, book):
    book.deal(created=berlin(2026, 2, 1), amount=1000)
    take_snapshot(day=date(2026, 3, 3))
    created = backfill_snapshots(days=5, today=date(2026, 3, 5))
    assert created == 4
    assert sorted(Snapshot.objects.values_list("day", flat=True)) == [
        date(2026, 3, d) for d in (1, 2, 3, 4, 5)
    ]
    assert Snapshot.objects.get(day=date(2026, 3, 3)).source == "live"
    assert Snapshot.objects.get(day=date(2026, 3, 1)).source == "backfill"
    assert backfill_snapshots(days=5, today=date(2026, 3, 5)) == 0


def test_the_backfill_command_reports_what_it_created(org_a):
    out = io.StringIO()
    call_command("backfill_snapshots", "--tenant", "acme", "--days", "3", stdout=out)
    assert "3 snapshot(s) created" in out.getvalue()
    call_command("backfill_snapshots", "--tenant", "acme", "--days", "3", stdout=out)
    assert "0 snapshot(s) created" in out.getvalue()


def test_a_tenants_snapshot_has_none_of_another_tenants_deals(org_a, org_b):
    with org_b.activate():
        other = make_book()
        other.deal(created=berlin(2026, 2, 1), amount=5000)
    with org_a.activate():
        book = make_book()
        mine = book.deal(created=berlin(2026, 2, 1), amount=1000)
        snapshot, _ = take_snapshot(day=date(2026, 3, 1))
        assert list(SnapshotDeal.objects.values_list("deal_id", flat=True)) == [mine.pk]
        assert SnapshotDeal.unscoped.filter(snapshot=snapshot).count() == 1


def test_the_nightly_task_takes_todays_snapshot_in_the_tenants_time(org_a, time_machine):
    # 23:30 UTC on 31 March is 01:30 on 1 April in Berlin.
    time_machine.move_to(datetime(2026, 3, 31, 23, 30, tzinfo=ZoneInfo("UTC")))
    assert take_daily_snapshot.apply(kwargs={"tenant_id": org_a.tenant.pk}).get() is True
    assert take_daily_snapshot.apply(kwargs={"tenant_id": org_a.tenant.pk}).get() is False
    with org_a.activate():
        assert list(Snapshot.objects.values_list("day", flat=True)) == [date(2026, 4, 1)]


@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_beats_scan_finds_the_tenants_whose_day_began_without_a_snapshot(
    time_machine, other_tenant
):
    from tests.conftest import _make_org

    org_a, org_b = _make_org("acme", "Acme"), _make_org("globex", "Globex")
    org_b.tenant.time_zone = "America/New_York"
    org_b.tenant.save()
    # 02:00 UTC on 1 April: Berlin's 1 April has begun, New York is still on 31 March.
    time_machine.move_to(datetime(2026, 4, 1, 2, 0, tzinfo=ZoneInfo("UTC")))
    other = other_tenant.tenant.pk  # Berlin too, and it has taken no snapshot
    assert tenants_due_for_snapshot() == sorted([org_a.tenant.pk, org_b.tenant.pk, other])
    with org_a.activate():
        take_snapshot(day=date(2026, 4, 1))
    with org_b.activate():
        take_snapshot(day=date(2026, 3, 31))
    assert tenants_due_for_snapshot() == [other]


def test_beat_runs_the_scan_every_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["reporting-daily-snapshots"]
    assert entry["task"] == "reporting.scan_daily_snapshots"
    assert entry["schedule"] == 3600
