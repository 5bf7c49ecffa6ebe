"""The health score, worked out by hand: each component, the weights, and the daily job.

Tenant A is in Berlin. Day D is Monday 15 June 2026; a score of day D describes the state
at 00:00 of D (Berlin), the instant AS_OF below.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction

import pytest

from intelligence import health, services
from intelligence.models import HealthScore, IntelligenceSettings
from tests import factories
from tests.intelligence.conftest import at

D = date(2026, 6, 15)
AS_OF = at(2026, 6, 15)
DAY = timedelta(days=1)
DEFAULT = {
    "recency": 25,
    "trend": 20,
    "overdue_tasks": 15,
    "stale_deals": 15,
    "renewal": 15,
    "lost_deals": 10,
}
QUIET = health.Facts(
    organization_id=1,
    as_of=AS_OF,
    last_contact_at=AS_OF - 3 * DAY,
    recent=5,
    previous=5,
    overdue_tasks=0,
    stale_deals=0,
    contract_end=None,
    open_ended=True,
    renewal=False,
    lost_deals=0,
)


def _points(facts, weights=DEFAULT) -> dict[str, int]:
    _, parts = health.score_of(facts, weights)
    return {p["key"]: p["points"] for p in parts}


def _hand_built(accounts) -> object:
    """Lumen: every component deducts something (see test_a_hand_built_customer…)."""
    lumen = accounts.customer("Lumen")
    # Recency and trend: calls 60 and 75 days before the instant (the last 90 days: 2),
    # eight in the 90 days before those; a note yesterday, which is no contact.
    accounts.activity(lumen, AS_OF - 60 * DAY)
    accounts.activity(lumen, AS_OF - 75 * DAY, kind="meeting")
    for i in range(8):
        accounts.activity(lumen, AS_OF - (100 + i) * DAY, kind="email")
    accounts.activity(lumen, AS_OF - DAY, kind="note")
    # Overdue tasks: one due two days ago. Not counted: one due tomorrow, one done
    # yesterday, one cancelled, one created after the instant.
    accounts.task(lumen, due=AS_OF - 2 * DAY, created=AS_OF - 10 * DAY)
    accounts.task(lumen, due=AS_OF + DAY, created=AS_OF - 10 * DAY)
    accounts.task(lumen, due=AS_OF - 5 * DAY, created=AS_OF - 10 * DAY, done_at=AS_OF - DAY)
    accounts.task(lumen, due=AS_OF - 5 * DAY, created=AS_OF - 9 * DAY, cancelled_at=AS_OF - DAY)
    accounts.task(lumen, due=AS_OF - DAY, created=AS_OF + 8 * timedelta(hours=1))
    # Stale deals: ten days in New lead (limit 7) with no activity.
    accounts.open_deal(lumen, stage=accounts.sales["New lead"], entered=AS_OF - 10 * DAY)
    # The contract ends 30 days after D and no renewal deal is open.
    accounts.won(
        lumen,
        closed=at(2025, 7, 1, 11),
        amount=12_000,
        start=date(2025, 7, 16),
        end=D + 30 * DAY,
    )
    # Lost deals: one 20 days ago; one 100 days ago is too old to count.
    accounts.lost(lumen, closed=AS_OF - 20 * DAY)
    accounts.lost(lumen, closed=AS_OF - 100 * DAY)
    return lumen


def test_a_hand_built_customer_scores_what_the_hand_worked_sum_says(accounts_a):
    lumen = _hand_built(accounts_a)
    [facts] = health.customer_facts(health.customers(), day=D, tz=accounts_a.org.tenant.tz)
    assert facts.organization_id == lumen.pk
    score, parts = health.score_of(facts, DEFAULT)
    # Default weights add up to 100, so a component's points are weight × severity:
    # recency   60 days: (60 − 30) ÷ 60 = 1/2      × 25 = 12.5 → 13 (half rounds up)
    # trend     2 against 8: 1 − 2/8 = 3/4          × 20 = 15
    # overdue   1 task: 1/3                         × 15 = 5
    # stale     1 deal: 1/2                         × 15 = 7.5 → 8
    # renewal   30 days left: (90 − 30) ÷ 90 = 2/3  × 15 = 10
    # lost      1 deal: 1/2                         × 10 = 5
    # 13 + 15 + 5 + 8 + 10 + 5 = 56 points → 100 − 56 = 44
    assert [(p["key"], p["points"], p["words"]) for p in parts] == [
        ("recency", 13, "no call, e-mail or meeting in 60 days"),
        ("trend", 15, "activity down 75 % over 90 days (2 against 8)"),
        ("overdue_tasks", 5, "1 overdue task"),
        ("stale_deals", 8, "1 stale deal"),
        ("renewal", 10, "contract ends in 30 days with no renewal deal"),
        ("lost_deals", 5, "1 deal lost in the last 90 days"),
    ]
    assert score == 44
    assert health.explain(parts[0]) == "no call, e-mail or meeting in 60 days: −13"


def test_weights_share_out_100_points(accounts_a):
    _hand_built(accounts_a)
    [facts] = health.customer_facts(health.customers(), day=D, tz=accounts_a.org.tenant.tz)
    # Only recency (30) and lost deals (10) weigh: their shares are 30/40 and 10/40.
    # recency 100 × 30 × 1/2 ÷ 40 = 37.5 → 38; lost 100 × 10 × 1/2 ÷ 40 = 12.5 → 13
    # 100 − 51 = 49
    weights = dict.fromkeys(DEFAULT, 0) | {"recency": 30, "lost_deals": 10}
    score, parts = health.score_of(facts, weights)
    assert {p["key"]: p["points"] for p in parts} == {
        "recency": 38,
        "trend": 0,
        "overdue_tasks": 0,
        "stale_deals": 0,
        "renewal": 0,
        "lost_deals": 13,
    }
    assert score == 49
    # Six equal weights (10 each, 60 in all): 100 × 10 ÷ 60 × severity
    # recency 1/2 → 8.33 → 8; trend 3/4 → 12.5 → 13; overdue 1/3 → 5.56 → 6;
    # stale 1/2 → 8; renewal 2/3 → 11.1 → 11; lost 1/2 → 8; 54 points → 46
    equal = dict.fromkeys(DEFAULT, 10)
    assert _points(facts, equal) == {
        "recency": 8,
        "trend": 13,
        "overdue_tasks": 6,
        "stale_deals": 8,
        "renewal": 11,
        "lost_deals": 8,
    }
    assert health.score_of(facts, equal)[0] == 46


def test_a_quiet_customer_scores_100_and_every_line_says_why():
    score, parts = health.score_of(QUIET, DEFAULT)
    assert score == 100
    assert [health.explain(p) for p in parts] == [
        "last call, e-mail or meeting 3 days ago: no deduction",
        "activity steady or up over 90 days (5 against 5): no deduction",
        "no overdue tasks: no deduction",
        "no stale deals: no deduction",
        "contract without an end date: no deduction",
        "no deals lost in the last 90 days: no deduction",
    ]


@pytest.mark.parametrize(
    "days,points,words",
    [
        (30, 0, "last call, e-mail or meeting 30 days ago"),  # the grace period, exactly
        (31, 0, "no call, e-mail or meeting in 31 days"),  # 25 × 1/60 = 0.42 → 0
        (33, 1, "no call, e-mail or meeting in 33 days"),  # 25 × 3/60 = 1.25 → 1
        (74, 18, "no call, e-mail or meeting in 74 days"),  # 25 × 44/60 = 18.3 → 18
        (90, 25, "no call, e-mail or meeting in 90 days"),
        (400, 25, "no call, e-mail or meeting in 400 days"),
    ],
)
def test_recency_deducts_between_30_and_90_days(days, points, words):
    facts = replace(QUIET, last_contact_at=AS_OF - days * DAY)
    [part] = [p for p in health.score_of(facts, DEFAULT)[1] if p["key"] == "recency"]
    assert (part["points"], part["words"]) == (points, words)


def test_no_contact_on_record_deducts_the_whole_weight():
    facts = replace(QUIET, last_contact_at=None, recent=0, previous=0)
    _, parts = health.score_of(facts, DEFAULT)
    assert health.explain(parts[0]) == "no call, e-mail or meeting on record: −25"
    assert health.explain(parts[1]) == "no activity in the last 180 days to compare: no deduction"


@pytest.mark.parametrize(
    "recent,previous,points",
    [
        (0, 4, 20),  # all gone
        (3, 4, 5),  # 20 × 1/4
        (1, 3, 13),  # 20 × 2/3 = 13.3 → 13
        (9, 4, 0),  # up
        (4, 0, 0),  # nothing before to fall from
    ],
)
def test_trend_deducts_the_fall_in_activity(recent, previous, points):
    facts = replace(QUIET, recent=recent, previous=previous)
    assert _points(facts)["trend"] == points


@pytest.mark.parametrize(
    "key,field,n,points",
    [
        ("overdue_tasks", "overdue_tasks", 2, 10),  # 15 × 2/3
        ("overdue_tasks", "overdue_tasks", 3, 15),
        ("overdue_tasks", "overdue_tasks", 7, 15),  # capped at three
        ("stale_deals", "stale_deals", 2, 15),
        ("stale_deals", "stale_deals", 5, 15),
        ("lost_deals", "lost_deals", 2, 10),
        ("lost_deals", "lost_deals", 4, 10),
    ],
)
def test_counts_deduct_up_to_their_cap(key, field, n, points):
    assert _points(replace(QUIET, **{field: n}))[key] == points


@pytest.mark.parametrize(
    "end,renewal,points,words",
    [
        (D + 91 * DAY, False, 0, "contract ends in 91 days (14 Sep 2026)"),
        (D + 90 * DAY, False, 0, "contract ends in 90 days with no renewal deal"),
        (D + 45 * DAY, False, 8, "contract ends in 45 days with no renewal deal"),  # 7.5 → 8
        (D, False, 15, "contract ends today with no renewal deal"),
        (D - 12 * DAY, False, 15, "contract ended 12 days ago with no renewal deal"),
        (D + 10 * DAY, True, 0, "renewal deal in hand for the contract ending 25 Jun 2026"),
    ],
)
def test_renewal_deducts_as_the_contract_end_nears_without_a_renewal_deal(
    end, renewal, points, words
):
    facts = replace(QUIET, open_ended=False, contract_end=end, renewal=renewal)
    [part] = [p for p in health.score_of(facts, DEFAULT)[1] if p["key"] == "renewal"]
    assert (part["points"], part["words"]) == (points, words)


def test_points_round_half_up_and_nothing_without_weights():
    assert health.points(Fraction(1, 2), 25, 100) == 13
    assert health.points(Fraction(1, 2), 5, 100) == 3
    assert health.points(Fraction(1), 10, 0) == 0


def test_a_renewal_deal_or_a_signed_next_contract_takes_the_renewal_worry_away(accounts_a):
    lumen = accounts_a.customer("Lumen")
    accounts_a.won(lumen, closed=at(2025, 7, 1, 11), start=date(2025, 7, 16), end=D + 30 * DAY)
    nova = accounts_a.customer("Nova")
    accounts_a.won(nova, closed=at(2025, 7, 1, 11), start=date(2025, 7, 16), end=D + 30 * DAY)
    accounts_a.open_deal(lumen, stage=accounts_a.renewals["Renewal due"], entered=AS_OF - DAY)
    accounts_a.won(nova, closed=AS_OF - DAY, start=D + 31 * DAY, end=D + 400 * DAY)
    tz = accounts_a.org.tenant.tz
    facts = {f.organization_id: f for f in health.customer_facts(health.customers(), day=D, tz=tz)}
    assert facts[lumen.pk].renewal and facts[nova.pk].renewal
    assert _points(facts[lumen.pk])["renewal"] == 0
    assert _points(facts[nova.pk])["renewal"] == 0


def test_the_daily_job_stores_a_day_once(accounts_a, clock):
    lumen = _hand_built(accounts_a)
    accounts_a.customer("Quiet Ltd")
    accounts_a.customer("Merged Ltd", merged_into=lumen)
    factories.OrganizationFactory(name="Prospect Ltd")  # not a customer: no score
    clock(at(2026, 6, 15, 0, 30))
    assert services.score_customers() == 2
    assert services.score_customers() == 0
    assert HealthScore.objects.count() == 2
    stored = HealthScore.objects.get(organization=lumen)
    assert (stored.day, stored.score) == (D, 44)
    assert stored.components[0]["words"] == "no call, e-mail or meeting in 60 days"
    # The next day is a new row; the trend is the history.
    clock(at(2026, 6, 16, 0, 30))
    assert services.score_customers() == 2
    assert list(
        HealthScore.objects.filter(organization=lumen).order_by("day").values_list("day", flat=True)
    ) == [D, D + DAY]


def test_the_tenants_weights_apply(accounts_a, clock):
    lumen = _hand_built(accounts_a)
    weights = {f"weight_{k}": 0 for k in DEFAULT} | {"weight_recency": 30, "weight_lost_deals": 10}
    services.update_settings(by=accounts_a.org.admin.user, **weights)
    clock(at(2026, 6, 15, 9))
    services.score_customers()
    assert HealthScore.objects.get(organization=lumen).score == 49
    assert IntelligenceSettings.objects.get().weights["recency"] == 30


def test_weights_must_not_all_be_zero(accounts_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.update_settings(
            by=accounts_a.org.admin.user, **{f"weight_{k}": 0 for k in DEFAULT}
        )
