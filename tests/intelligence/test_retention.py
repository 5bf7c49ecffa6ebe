"""Retention and net revenue retention by segment and by cohort, worked out by hand, and
the same retention as the scorecard's retention_rate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from intelligence import selectors, values
from intelligence.models import Quadrant
from pipeline.models import Pipeline
from reporting.periods import Period
from reporting.scorecards import compute_scorecard
from tests.intelligence.conftest import at

Q2 = {"start": date(2026, 4, 1), "end": date(2026, 7, 1)}  # last day: 30 June


@pytest.fixture
def book(accounts_a, clock):
    clock(at(2026, 6, 15, 10))
    a = accounts_a
    alpha = a.customer("Alpha")  # kept: 10 000 → 10 000
    a.won(
        alpha,
        closed=at(2024, 12, 20, 10),
        amount=10_000,
        start=date(2025, 1, 1),
        end=date(2026, 12, 31),
    )
    bravo = a.customer("Bravo")  # lost: its contract ended on 31 May: 8 000 → 0
    a.won(
        bravo,
        closed=at(2025, 5, 20, 10),
        amount=8_000,
        start=date(2025, 6, 1),
        end=date(2026, 5, 31),
    )
    charlie = a.customer("Charlie")  # kept and grew: 5 000 → 7 000
    a.won(
        charlie,
        closed=at(2025, 9, 20, 10),
        amount=5_000,
        start=date(2025, 10, 1),
        end=date(2026, 9, 30),
    )
    a.won(
        charlie,
        closed=at(2026, 4, 20, 10),
        amount=2_000,
        start=date(2026, 5, 1),
        end=date(2027, 4, 30),
    )
    delta = a.customer("Delta")  # new in the period: not a customer at its start
    a.won(
        delta,
        closed=at(2026, 5, 10, 10),
        amount=4_000,
        start=date(2026, 5, 15),
        end=date(2027, 5, 14),
    )
    # Not revenue: an onboarding "won" covering the period does not make Echo a customer.
    echo = a.customer("Echo")
    onboarding = Pipeline.objects.get(kind=Pipeline.Kind.ONBOARDING)
    done = onboarding.stages.get(kind="won")
    a.won(
        echo,
        closed=at(2025, 1, 5, 10),
        amount=3_000,
        start=date(2025, 1, 10),
        end=date(2027, 1, 9),
        stage=done,
    )
    return a


def test_retention_by_segment_and_cohort_worked_out_by_hand(book):
    tenant = book.org.tenant
    period = Period(Q2["start"], Q2["end"], tenant.tz)
    r = selectors.retention(
        period, today=date(2026, 6, 15), settings=values.intelligence_settings()
    )
    # Customers on 1 April: Alpha, Bravo, Charlie (3); on 30 June: Alpha and Charlie (2).
    # Revenue: 10 000 + 8 000 + 5 000 = 23 000 at the start; 10 000 + 7 000 = 17 000 kept.
    t = r.total
    assert (t.customers_at_start, t.customers_kept) == (3, 2)
    assert (t.revenue_at_start, t.revenue_kept) == (Decimal(23_000), Decimal(17_000))
    assert t.retention == pytest.approx(2 / 3)
    assert t.net_revenue_retention == pytest.approx(17_000 / 23_000)
    assert t.became_customers == 4  # Delta too
    # Segments (today's quadrants): current values 10 000, 0, 7 000, 4 000 (and Echo 0);
    # the median is 4 000, so Alpha, Charlie and Delta are high; nobody has potential.
    rows = {row.label: row for row in r.by_segment}
    protect, serve = rows["Protect"], rows["Serve efficiently"]
    assert (protect.customers_at_start, protect.customers_kept) == (2, 2)
    assert protect.net_revenue_retention == pytest.approx(17_000 / 15_000)
    assert (serve.customers_at_start, serve.customers_kept, serve.retention) == (1, 0, 0.0)
    assert serve.net_revenue_retention == 0.0
    assert rows["Invest"].retention is None  # nobody there: no data, not 0
    # Cohorts: the quarter of each organization's first contract.
    assert [
        (c.label, c.customers_at_start, c.customers_kept, c.became_customers) for c in r.by_cohort
    ] == [
        ("2025 Q1", 1, 1, 1),
        ("2025 Q2", 1, 0, 1),
        ("2025 Q4", 1, 1, 1),
        ("2026 Q2", 0, 0, 1),
    ]
    assert r.by_cohort[-1].retention is None


def test_the_total_agrees_with_the_scorecards_retention_rate(book):
    tenant = book.org.tenant
    scorecard = compute_scorecard(tenant, **Q2)
    r = selectors.retention(
        Period(Q2["start"], Q2["end"], tenant.tz),
        today=date(2026, 6, 15),
        settings=values.intelligence_settings(),
    )
    assert r.total.retention == scorecard["retention_rate"]
    assert r.total.customers_at_start == scorecard["inputs"]["customers_at_start"]
    assert sum(c.customers_at_start for c in r.by_cohort) == r.total.customers_at_start
    assert sum(s.customers_kept for s in r.by_segment) == r.total.customers_kept


def test_the_retention_page_shows_both_figures_side_by_side(book):
    org = book.org
    response = org.client_for(org.manager).get(
        org.url("accounts/retention/"),
        {"period": "custom", "start": "2026-04-01", "end": "2026-06-30"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("66.7 %") >= 2  # the scorecard's figure and this view's total
    assert "73.9 %" in html  # 17 000 ÷ 23 000
    assert "2025 Q4" in html
    assert f"?quadrant={Quadrant.PROTECT}" in html
