"""Value segmentation: current and potential value, and the quadrant at and around the
thresholds (the medians by default, or the tenant's)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from contacts.models import Organization
from intelligence import services, values
from intelligence.models import IntelligenceSettings, Quadrant
from tests import factories
from tests.intelligence.conftest import at

TODAY = date(2026, 6, 15)
NOW = at(2026, 6, 15, 10)


def _t(current: str, potential: str) -> values.Thresholds:
    return values.Thresholds(Decimal(current), Decimal(potential), False, False)


@pytest.mark.parametrize(
    "current,potential,expected",
    [
        ("1000", "500", Quadrant.INVEST),  # both exactly at the thresholds: high
        ("999.99", "500", Quadrant.DEVELOP),
        ("1000", "499.99", Quadrant.PROTECT),
        ("999.99", "499.99", Quadrant.SERVE),
        ("1000.01", "500.01", Quadrant.INVEST),
        ("0", "0", Quadrant.SERVE),
    ],
)
def test_quadrant_at_and_around_the_thresholds(current, potential, expected):
    assert values.quadrant(Decimal(current), Decimal(potential), _t("1000", "500")) == expected


def test_a_zero_threshold_does_not_make_nothing_high():
    assert values.quadrant(Decimal(0), Decimal(0), _t("0", "0")) == Quadrant.SERVE
    assert values.quadrant(Decimal(1), Decimal(0), _t("0", "0")) == Quadrant.PROTECT


def _settings(**fields) -> IntelligenceSettings:
    return IntelligenceSettings(tenant=None, **fields)


def test_medians_of_the_positive_values_are_the_default_thresholds():
    rows = [(Decimal(v), Decimal(p)) for v, p in [(1000, 0), (2000, 10), (3000, 20), (4000, 30)]]
    t = values.thresholds_from(_settings(), rows)
    # current: 1000…4000, the mean of the middle two; potential: 10, 20, 30 (0 left out)
    assert (t.current, t.potential) == (Decimal(2500), Decimal(20))
    assert t.current_is_median and t.potential_is_median
    t = values.thresholds_from(_settings(current_threshold=Decimal(3000)), rows)
    assert (t.current, t.potential, t.current_is_median) == (Decimal(3000), Decimal(20), False)
    assert values.thresholds_from(_settings(), [(Decimal(0), Decimal(0))]).current == 0


def _build(accounts):
    """Five accounts whose values are set by hand (revenue pipelines only)."""
    year_ago = NOW - timedelta(days=300)
    alpha = accounts.customer("Alpha")  # 40 000 won this year; 30 % of 10 000 open + 2 000
    accounts.won(alpha, closed=year_ago, amount=40_000)
    accounts.open_deal(
        alpha, stage=accounts.sales["Qualified"], entered=NOW - timedelta(days=2), amount=12_000
    )
    services.set_potential(alpha, by=accounts.org.manager.user, estimate=Decimal(2_000))
    # Bravo: won 500 days ago on a contract running today: current = the contract, 30 000.
    bravo = accounts.customer("Bravo")
    accounts.won(
        bravo,
        closed=NOW - timedelta(days=500),
        amount=30_000,
        start=TODAY - timedelta(days=480),
        end=TODAY + timedelta(days=250),
    )
    # Charlie: 9 000 won this year on a contract running today counts once, plus 1 000 won.
    charlie = accounts.customer("Charlie", owner=accounts.org.rep2.user)
    accounts.won(
        charlie,
        closed=NOW - timedelta(days=100),
        amount=9_000,
        start=TODAY - timedelta(days=90),
        end=TODAY + timedelta(days=275),
    )
    accounts.won(charlie, closed=NOW - timedelta(days=40), amount=1_000)
    # Delta, a prospect with a big proposal: 60 % of 50 000.
    delta = accounts.customer("Delta", lifecycle=Organization.Lifecycle.PROSPECT)
    accounts.open_deal(
        delta, stage=accounts.sales["Proposal"], entered=NOW - timedelta(days=3), amount=50_000
    )
    # Echo, a customer with nothing: in the matrix, low on both.
    echo = accounts.customer("Echo")
    # Not accounts: a prospect with nothing; a deal won 400 days ago without a contract;
    # an onboarding deal (not revenue).
    factories.OrganizationFactory(name="Foxtrot")
    golf = accounts.customer("Golf", lifecycle=Organization.Lifecycle.FORMER_CUSTOMER)
    accounts.won(golf, closed=NOW - timedelta(days=400), amount=99_000)
    return alpha, bravo, charlie, delta, echo


def test_the_values_of_hand_built_accounts(accounts_a, clock):
    clock(NOW)
    alpha, bravo, charlie, delta, echo = _build(accounts_a)
    matrix = values.value_matrix(today=TODAY, tz=accounts_a.org.tenant.tz, settings=_settings())
    found = {a.name: (a.current, a.potential) for a in matrix.accounts}
    assert found == {
        "Alpha": (Decimal(40_000), Decimal(3_000) + Decimal(2_000)),  # 25 % of 12 000 + 2 000
        "Bravo": (Decimal(30_000), Decimal(0)),
        "Charlie": (Decimal(10_000), Decimal(0)),  # max(9 000 + 1 000 won, 9 000 contract)
        "Delta": (Decimal(0), Decimal(30_000)),
        "Echo": (Decimal(0), Decimal(0)),
    }
    # Medians of the positive values: current 40 000, 30 000, 10 000 → 30 000; potential
    # 5 000, 30 000 → 17 500.
    assert (matrix.thresholds.current, matrix.thresholds.potential) == (30_000, 17_500)
    quadrant = {a.name: a.quadrant for a in matrix.accounts}
    assert quadrant == {
        "Alpha": Quadrant.PROTECT,  # potential 5 000 is low
        "Bravo": Quadrant.PROTECT,  # exactly at the median: high
        "Charlie": Quadrant.SERVE,
        "Delta": Quadrant.DEVELOP,
        "Echo": Quadrant.SERVE,
    }
    services.set_potential(alpha, by=accounts_a.org.manager.user, estimate=Decimal(27_000))
    # Alpha's potential 30 000; the median of 30 000 and 30 000 is 30 000: both high.
    matrix = values.value_matrix(today=TODAY, tz=accounts_a.org.tenant.tz, settings=_settings())
    assert {a.name: a.quadrant for a in matrix.accounts}["Alpha"] == Quadrant.INVEST
    assert {a.name: a.quadrant for a in matrix.accounts}["Delta"] == Quadrant.DEVELOP


def test_configured_thresholds_move_accounts_between_quadrants(accounts_a, clock):
    clock(NOW)
    _build(accounts_a)
    services.update_settings(
        by=accounts_a.org.admin.user,
        current_threshold=Decimal("30000.00"),
        potential_threshold=Decimal("5000.00"),
    )
    settings = values.intelligence_settings()
    matrix = values.value_matrix(today=TODAY, tz=accounts_a.org.tenant.tz, settings=settings)
    assert {a.name: a.quadrant for a in matrix.accounts} == {
        "Alpha": Quadrant.INVEST,  # potential 5 000: at the threshold
        "Bravo": Quadrant.PROTECT,  # current 30 000: at the threshold
        "Charlie": Quadrant.SERVE,  # 10 000 is now low
        "Delta": Quadrant.DEVELOP,
        "Echo": Quadrant.SERVE,
    }
    services.update_settings(by=accounts_a.org.admin.user, current_threshold=Decimal("30000.01"))
    settings = values.intelligence_settings()
    matrix = values.value_matrix(today=TODAY, tz=accounts_a.org.tenant.tz, settings=settings)
    assert {a.name: a.quadrant for a in matrix.accounts}["Bravo"] == Quadrant.SERVE


def test_the_sql_rule_agrees_with_the_python_one(accounts_a, clock):
    clock(NOW)
    _build(accounts_a)
    tz = accounts_a.org.tenant.tz
    settings = values.intelligence_settings()
    matrix = values.value_matrix(today=TODAY, tz=tz, settings=settings)
    t = values.thresholds(settings, today=TODAY, tz=tz)
    assert t == matrix.thresholds
    for q in Quadrant.values:
        in_sql = values.with_values(Organization.objects.all(), today=TODAY, tz=tz).filter(
            values.quadrant_q(q, t)
        )
        assert sorted(in_sql.values_list("name", flat=True)) == sorted(
            a.name for a in matrix.accounts if a.quadrant == q
        ), q


def test_a_negative_potential_is_refused_and_none_clears_it(accounts_a):
    from django.core.exceptions import ValidationError

    alpha = accounts_a.customer("Alpha")
    with pytest.raises(ValidationError):
        services.set_potential(alpha, by=accounts_a.org.manager.user, estimate=Decimal(-1))
    services.set_potential(alpha, by=accounts_a.org.manager.user, estimate=Decimal(10))
    assert services.set_potential(alpha, by=accounts_a.org.manager.user, estimate=None) is None
    assert not values.AccountPotential.objects.exists()


def test_who_may_set_the_potential(accounts_a):
    org = accounts_a.org
    alpha = accounts_a.customer("Alpha", owner=org.rep.user)
    assert services.can_set_potential(org.rep, alpha)
    assert not services.can_set_potential(org.rep2, alpha)
    assert services.can_set_potential(org.manager, alpha)
    services.update_settings(
        by=org.admin.user, potential_source=IntelligenceSettings.PotentialSource.MANAGERS
    )
    assert not services.can_set_potential(org.rep, alpha)
    assert services.can_set_potential(org.manager, alpha)
