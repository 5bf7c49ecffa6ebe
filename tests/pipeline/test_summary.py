"""The weekly pipeline summary: Monday from 08:00 tenant time, to managers, once a week."""

from datetime import UTC, date, timedelta

from django.core import mail

from pipeline import services
from pipeline.models import Deal
from pipeline.services.summary import send_weekly_summaries, week_summary
from tests import factories
from tests.automation import at, notices, sales_of

MONDAY = at(2026, 6, 8, 8, 0)  # 8 June 2026 is a Monday


def _deal(org, stage, name, **fields):
    with org.activate():
        return services.create_deal(
            by=org.rep.user,
            name=name,
            stage=stage,
            organization=factories.OrganizationFactory(),
            **fields,
        )


def _last_week(org, clock):
    """Last week in Acme: three new deals, one moved, one won, one lost; one stale now."""
    sales = sales_of(org)
    clock(at(2026, 5, 20, 10, 0))
    _deal(org, sales["New lead"], "Old and stale")  # 7-day limit: stale by 8 June
    clock(at(2026, 6, 2, 10, 0))
    moved = _deal(org, sales["Negotiation"], "Moved", amount=1_000)
    won = _deal(org, sales["Negotiation"], "Won", amount=20_000)
    lost = _deal(org, sales["Negotiation"], "Lost", amount=5_000)
    clock(at(2026, 6, 5, 10, 0))
    with org.activate():
        services.move_deal(
            Deal.objects.get(pk=moved.pk),
            to_stage=sales["Proposal"],
            by=org.rep.user,
            fields={"expected_close": date(2026, 7, 1)},
        )
        services.win_deal(Deal.objects.get(pk=won.pk), by=org.rep.user)
        services.lose_deal(Deal.objects.get(pk=lost.pk), by=org.rep.user, reason=sales.reasons[0])


def test_the_summary_counts_last_week_per_pipeline(org_a, clock):
    _last_week(org_a, clock)
    clock(MONDAY)
    with org_a.activate():
        summary = week_summary(now=MONDAY)
    sales = summary.pipelines[0]
    assert (summary.start, summary.end) == (at(2026, 6, 1, 0, 0), at(2026, 6, 8, 0, 0))
    assert (sales.moves, sales.new, sales.won, sales.lost, sales.stale) == (1, 3, 1, 1, 1)
    assert (sales.new_amount, sales.won_amount) == (26_000, 20_000)
    assert "Sales: 1 moved · 3 new (€26,000) · 1 won (€20,000) · 1 lost · 1 stale now" in (
        summary.text("EUR")
    )


def test_managers_get_it_on_monday_from_eight_once(org_a, clock, send):
    _last_week(org_a, clock)
    assert send(org_a, send_weekly_summaries, now=clock(MONDAY - timedelta(minutes=1))) == 0
    assert send(org_a, send_weekly_summaries, now=clock(MONDAY)) == 2  # manager and admin
    assert send(org_a, send_weekly_summaries, now=clock(MONDAY + timedelta(days=2))) == 0
    [summary] = notices(org_a, org_a.manager.user, "weekly_summary")
    assert summary.title == "Pipeline last week: 1 won, 1 stale"
    assert "Week of 01 Jun – 07 Jun 2026" in summary.body
    assert notices(org_a, org_a.rep.user, "weekly_summary") == []
    assert sorted(m.to[0] for m in mail.outbox if "Pipeline last week" in m.subject) == [
        "admin@acme.test",
        "manager@acme.test",
    ]
    assert send(org_a, send_weekly_summaries, now=clock(MONDAY + timedelta(days=7))) == 2


def test_a_missed_monday_is_caught_up_later_that_week(org_a, clock, send):
    assert send(org_a, send_weekly_summaries, now=clock(at(2026, 6, 10, 3, 0))) == 2


def test_monday_eight_oclock_is_the_tenants(org_a, clock, send):
    # 07:30 UTC is 09:30 in Berlin: due; the week started at Monday 00:00 Berlin time.
    assert send(org_a, send_weekly_summaries, now=clock(at(2026, 6, 8, 5, 59, tz=UTC))) == 0
    assert send(org_a, send_weekly_summaries, now=clock(at(2026, 6, 8, 6, 0, tz=UTC))) == 2
