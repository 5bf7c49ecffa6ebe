"""The forecast on a small hand-built dataset, and the deal list behind each figure."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from pipeline.models import Deal, Pipeline
from pipeline.selectors import forecast as selectors
from tests import factories
from tests.pipeline.conftest import default_sales

TODAY = date(2030, 5, 14)


@pytest.fixture
def data(org_a):
    """Proposal is 60 %, Negotiation 80 %.

    rep:  12 000 in Proposal closing 3 May (this month), 10 000 in Negotiation 20 June,
          5 000 in Proposal closing last March (overdue), 1 000 with no date
    rep2: 20 000 in Negotiation 1 May, 7 000 in Proposal 2031 (later)
    won this month: 9 000 (rep); lost: 50 000 in May (not counted); onboarding: not counted
    """
    with org_a.activate():
        sales = default_sales(org_a)
        p, n = sales["Proposal"], sales["Negotiation"]
        rep, rep2 = org_a.rep.user, org_a.rep2.user
        for stage, amount, close, owner in [
            (p, 12_000, date(2030, 5, 3), rep),
            (n, 10_000, date(2030, 6, 20), rep),
            (p, 5_000, date(2030, 3, 31), rep),
            (p, 1_000, None, rep),
            (n, 20_000, date(2030, 5, 1), rep2),
            (p, 7_000, date(2031, 1, 15), rep2),
        ]:
            factories.DealFactory(stage=stage, amount=amount, expected_close=close, owner=owner)
        when = timezone.make_aware(datetime(2030, 5, 10, 12), org_a.tenant.tz)
        factories.DealFactory(
            stage=sales["Won"], status="won", closed_at=when, amount=9_000, owner=rep,
            expected_close=date(2030, 5, 10),
        )  # fmt: skip
        factories.DealFactory(
            stage=sales["Lost"], status="lost", closed_at=when, amount=50_000, owner=rep,
            expected_close=date(2030, 5, 20), lost_reason=sales.reasons[0],
        )  # fmt: skip
        onboarding = Pipeline.objects.get(kind="onboarding")
        factories.DealFactory(
            stage=onboarding.stages.first(),
            amount=99_000,
            expected_close=date(2030, 5, 30),
            owner=rep,
        )
    return sales


def _forecast(org, **kwargs):
    with org.activate():
        pipelines = [p for p in Pipeline.objects.all() if p.counts_as_revenue]
        return selectors.forecast(
            pipelines=pipelines, today=TODAY, tz=org.tenant.tz, months=3, **kwargs
        )


def test_the_forecast_by_month_weights_by_stage_probability(org_a, data):
    fc = _forecast(org_a)
    assert [b.key for b in fc.buckets] == [
        "overdue",
        "2030-05",
        "2030-06",
        "2030-07",
        "later",
        "none",
    ]
    may, june = fc.totals["2030-05"], fc.totals["2030-06"]
    assert (may.count, may.amount, may.weighted) == (2, Decimal(32_000), Decimal(23_200))
    assert (june.amount, june.weighted) == (Decimal(10_000), Decimal(8_000))
    assert fc.totals["overdue"].weighted == Decimal(3_000)
    assert fc.totals["later"].amount == Decimal(7_000)
    assert fc.totals["none"].count == 1
    assert (fc.total.count, fc.total.amount, fc.total.weighted) == (
        6, Decimal(55_000), Decimal(7_200 + 8_000 + 3_000 + 600 + 16_000 + 4_200)
    )  # fmt: skip
    assert fc.won["2030-05"].amount == Decimal(9_000)


def test_the_forecast_by_owner(org_a, data):
    fc = _forecast(org_a)
    rows = {r.owner_name: r for r in fc.rows}
    rita, ravi = rows["Rep Acme"], rows["Rep2 Acme"]
    assert rita.cells["2030-05"].weighted == Decimal(7_200)
    assert ravi.cells["2030-05"].weighted == Decimal(16_000)
    assert (rita.total.amount, ravi.total.amount) == (Decimal(28_000), Decimal(27_000))
    only_ravi = _forecast(org_a, owner_id=org_a.rep2.user_id)
    assert [r.owner_name for r in only_ravi.rows] == ["Rep2 Acme"]


def test_owners_beyond_the_top_share_one_row_and_the_totals_count_everyone(org_a, data):
    fc = _forecast(org_a, top=1)  # Rep Acme: 7,200 + 8,000 + 3,000 + 600 weighted; Rep2: 20,200
    assert [r.owner_name for r in fc.rows] == ["Rep2 Acme"]
    assert fc.others_count == 1
    assert fc.others.cells["2030-05"].weighted == Decimal(7_200)
    assert (fc.others.total.count, fc.others.total.amount) == (4, Decimal(28_000))
    assert [b.key for b, _ in fc.others.columns] == [b.key for b in fc.buckets]
    assert fc.totals["2030-05"].weighted == Decimal(23_200)  # both owners still counted
    everyone = _forecast(org_a, top=2)
    assert everyone.others is None and len(everyone.rows) == 2


def test_the_page_folds_the_smallest_owners_until_show_each(org_a, data, monkeypatch):
    from pipeline.views import forecast as view

    monkeypatch.setattr(view, "FORECAST_OWNERS", 1)
    with time_machine.travel(datetime(2030, 5, 14, 10, tzinfo=org_a.tenant.tz)):
        client = org_a.client_for(org_a.manager)
        page = client.get(org_a.url("forecast/?months=3")).content.decode()
        assert "1 more owner " in page and "Rep Acme" not in page.split("<tbody>")[1]
        assert "?months=3&amp;owners=all" in page  # "Show each" keeps the other options
        page = client.get(org_a.url("forecast/?months=3&owners=all")).content.decode()
    table = page.split("<tbody>")[1].split("</tbody>")[0]
    assert "Rep Acme" in table and "Rep2 Acme" in table and "more owner" not in table


def test_each_figure_links_to_the_deals_behind_it(org_a, data):
    with time_machine.travel(datetime(2030, 5, 14, 10, tzinfo=org_a.tenant.tz)):
        client = org_a.client_for(org_a.manager)  # signed in "then", or the session expired
        page = client.get(org_a.url("forecast/?months=3")).content.decode()
        assert "€23,200" in page  # May, everyone, weighted
        link = f"close_month=2030-05&amp;owner={org_a.rep2.user_id}"
        assert link in page
        listed = client.get(
            org_a.url(
                f"deals/?status=open&months=3&revenue=true&close_month=2030-05&owner={org_a.rep2.user_id}"
            )
        ).content.decode()
    with org_a.activate():
        behind = Deal.objects.get(owner=org_a.rep2.user, expected_close=date(2030, 5, 1))
    assert f"/deals/{behind.pk}/" in listed
    assert (
        listed.count("/deals/") - listed.count("/deals/new/") - listed.count("/deals/board/") >= 1
    )
    with org_a.activate():
        others = Deal.objects.exclude(pk=behind.pk)
        assert not any(f'href="/acme/deals/{d.pk}/"' in listed for d in others)


def test_the_overdue_and_later_buckets_filter_the_list_too(org_a, data):
    with time_machine.travel(datetime(2030, 5, 14, 10, tzinfo=org_a.tenant.tz)):
        client = org_a.client_for(org_a.manager)
        overdue = client.get(
            org_a.url("deals/?status=open&close_month=overdue&months=3")
        ).content.decode()
        later = client.get(
            org_a.url("deals/?status=open&close_month=later&months=3")
        ).content.decode()
    with org_a.activate():
        old = Deal.objects.get(expected_close=date(2030, 3, 31))
        far = Deal.objects.get(expected_close=date(2031, 1, 15))
    assert f"/deals/{old.pk}/" in overdue and f"/deals/{far.pk}/" not in overdue
    assert f"/deals/{far.pk}/" in later and f"/deals/{old.pk}/" not in later


def test_the_forecast_page_runs_the_same_queries_for_many_owners_and_deals(
    org_a, data, django_assert_max_num_queries
):
    """Two aggregates and the owners' names, whatever the number of deals and owners."""
    client = org_a.client_for(org_a.manager)
    client.get(org_a.url("forecast/"))  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(org_a.url("forecast/"))
    with org_a.activate():
        proposal = data["Proposal"]
        for i in range(30):
            owner = factories.MembershipFactory(tenant=org_a.tenant).user
            for month in (1, 4):
                factories.DealFactory(
                    stage=proposal, amount=1_000 + i, expected_close=date(2030, month, 9),
                    owner=owner,
                )  # fmt: skip
    with django_assert_max_num_queries(len(few)):
        response = client.get(org_a.url("forecast/"))
    assert response.status_code == 200
