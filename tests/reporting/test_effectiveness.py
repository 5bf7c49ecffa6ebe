"""The effectiveness figures of METRICS.md, each on a tiny dataset worked out by hand.

Tenant A runs on Europe/Berlin; the period is March 2026, i.e. from 2026-03-01 00:00 CET
(2026-02-28 23:00 UTC) to 2026-04-01 00:00 CEST (2026-03-31 22:00 UTC). Summer time
starts on 29 March, so "23:59 on the 31st" and "00:00 on the 1st" are both 31 March in
UTC: only a tenant-time implementation puts them in different months.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contacts.models import Contact
from crm.models import Membership, Role
from pipeline.models import DealContact
from reporting.models import RevenueTarget
from reporting.scorecards import compute_scorecard
from reporting.services import take_snapshot
from tests import factories
from tests.reporting.conftest import MARCH, berlin, make_book

APRIL = {"start": date(2026, 4, 1), "end": date(2026, 5, 1)}


@pytest.fixture(autouse=True)
def members_since_2025(tenant_a):
    """Tenant A's four members (admin, manager, rep, rep2) joined long before March."""
    Membership.objects.update(created_at=berlin(2025, 1, 1))


def card(org, **kwargs):
    return compute_scorecard(org.tenant, **{**MARCH, **kwargs})


# Close rate, won revenue: closed_at in [start, end), tenant time.


@pytest.fixture
def closings(tenant_a, book):
    rep = tenant_a.rep.user
    won, lost = book.won, book.lost
    feb = berlin(2026, 2, 1)
    book.deal(created=feb, owner=rep, amount=3000, moves=[(won, berlin(2026, 3, 10, 15))])
    book.deal(created=feb, owner=rep, amount=1000, moves=[(lost, berlin(2026, 3, 31, 23, 59))])
    book.deal(created=feb, owner=rep, amount=5000, moves=[(won, berlin(2026, 4, 1, 0, 0))])
    book.deal(created=feb, owner=rep, amount=2000, moves=[(won, berlin(2026, 3, 1, 0, 0))])
    book.deal(created=feb, owner=rep, amount=7000, moves=[(lost, berlin(2026, 2, 28, 23, 59))])
    book.deal(created=feb, owner=rep, amount=9000)  # still open: never counts
    return book


def test_close_rate_counts_deals_closed_in_the_tenants_month(tenant_a, closings):
    figures = card(tenant_a)
    # Closed in March (Berlin): won 3000 (10th), lost 1000 (31st 23:59), won 2000 (1st 00:00).
    # The 5000 won at 1 April 00:00 and the 7000 lost on 28 February are outside.
    assert figures["close_rate"] == pytest.approx(2 / 3)
    # By value: (3000 + 2000) / (3000 + 1000 + 2000) = 5000 / 6000.
    assert figures["close_rate_value"] == pytest.approx(5 / 6)
    assert figures["won_revenue"] == Decimal("5000.00")
    assert figures["inputs"]["deals_closed"] == 3


def test_a_deal_closed_at_midnight_belongs_to_the_next_month(tenant_a, closings):
    figures = card(tenant_a, **APRIL)
    # April: only the 5000 won at 00:00 on 1 April.
    assert figures["close_rate"] == 1.0
    assert figures["won_revenue"] == Decimal("5000.00")


def test_close_rates_are_null_without_closed_deals(tenant_a, book):
    book.deal(created=berlin(2026, 3, 2), owner=tenant_a.rep.user)
    figures = card(tenant_a)
    assert figures["close_rate"] is None
    assert figures["close_rate_value"] is None
    assert figures["sales_cycle_days"] is None
    assert figures["won_revenue"] == Decimal("0.00")


def test_close_rate_by_value_is_null_when_the_closed_deals_have_no_amount(tenant_a, book):
    book.deal(created=berlin(2026, 2, 1), amount=None, moves=[(book.won, berlin(2026, 3, 5))])
    book.deal(created=berlin(2026, 2, 1), amount=0, moves=[(book.lost, berlin(2026, 3, 5))])
    figures = card(tenant_a)
    assert figures["close_rate"] == 0.5  # 1 won of 2 closed
    assert figures["close_rate_value"] is None  # 0 / 0


# Sales cycle: median of closed_at - created_at in days, over deals won in the period.


def test_sales_cycle_is_the_median_over_won_deals_in_days(tenant_a, book):
    won, lost = book.won, book.lost
    # 1 Mar 00:00 -> 11 Mar 12:00 = 10.5 days; 1 Feb -> 3 Mar = 30 days;
    # 5 Mar 00:00 -> 7 Mar 06:00 = 2.25 days. A lost deal of 100 days does not count.
    book.deal(created=berlin(2026, 3, 1), moves=[(won, berlin(2026, 3, 11, 12))])
    book.deal(created=berlin(2026, 2, 1), moves=[(won, berlin(2026, 3, 3))])
    book.deal(created=berlin(2026, 3, 5), moves=[(won, berlin(2026, 3, 7, 6))])
    book.deal(created=berlin(2025, 11, 20), moves=[(lost, berlin(2026, 3, 1, 12))])
    assert card(tenant_a)["sales_cycle_days"] == 10.5  # median of 2.25, 10.5, 30
    # A fourth: 1 Mar 00:00 -> 21 Mar 07:12 = 20.3 days; the median of an even count is
    # the mean of the two middle values: (10.5 + 20.3) / 2 = 15.4.
    book.deal(created=berlin(2026, 3, 1), moves=[(won, berlin(2026, 3, 21, 7, 12))])
    assert card(tenant_a)["sales_cycle_days"] == 15.4


# Revenue per rep: won revenue / reps whose membership was active at end.


def test_revenue_per_rep_divides_by_reps_active_at_the_end(tenant_a, closings):
    # Won revenue 5000; reps rep and rep2 active on 1 April 00:00: 5000 / 2.
    assert card(tenant_a)["revenue_per_rep"] == Decimal("2500.00")


def test_a_rep_deactivated_before_the_end_no_longer_counts(tenant_a, closings):
    Membership.objects.filter(pk=tenant_a.rep2.pk).update(
        is_active=False, deactivated_at=berlin(2026, 3, 31, 23)
    )
    assert card(tenant_a)["revenue_per_rep"] == Decimal("5000.00")  # 5000 / 1


def test_a_rep_deactivated_exactly_at_the_end_still_counts(tenant_a, closings):
    Membership.objects.filter(pk=tenant_a.rep2.pk).update(
        is_active=False, deactivated_at=berlin(2026, 4, 1)
    )
    # A membership is active at an instant when not deactivated *before* it.
    assert card(tenant_a)["revenue_per_rep"] == Decimal("2500.00")


def test_a_rep_who_joined_at_the_end_does_not_count(tenant_a, closings):
    newcomer = factories.MembershipFactory(tenant=tenant_a.tenant, role=Role.REP)
    newcomer.created_at = berlin(2026, 4, 1)
    newcomer.save()
    assert card(tenant_a)["revenue_per_rep"] == Decimal("2500.00")


def test_revenue_per_rep_is_null_without_reps(tenant_a, closings):
    Membership.objects.filter(role=Role.REP).update(role=Role.MANAGER)
    assert card(tenant_a)["revenue_per_rep"] is None


# Retention: customers at start still customers on the period's last day.


def test_retention_follows_contracts_covering_the_first_and_last_day(tenant_a, book):
    def customer(contract_start, contract_end=None, *, won=True):
        org = factories.OrganizationFactory()
        book.deal(
            created=berlin(2024, 12, 1),
            organization=org,
            moves=[(book.won if won else book.lost, berlin(2024, 12, 20))],
            contract_start=contract_start,
            contract_end=contract_end,
        )
        return org

    customer(date(2025, 1, 1))  # open-ended: customer on 1 and on 31 March -> kept
    customer(date(2025, 3, 1), date(2026, 3, 15))  # ends mid-March -> lost
    customer(date(2026, 3, 1), date(2026, 3, 31))  # covers 1 and 31 March -> kept
    customer(date(2026, 3, 2))  # starts after the 1st: not a customer at start
    customer(date(2025, 1, 1), date(2026, 2, 28))  # ended before March
    customer(date(2025, 1, 1), won=False)  # a lost deal's dates make nobody a customer
    # Base: the first three; kept: the first and the third.
    assert card(tenant_a)["retention_rate"] == pytest.approx(2 / 3)


def test_an_organization_with_two_contracts_counts_once(tenant_a, book):
    org = factories.OrganizationFactory()
    for start, end in [(date(2025, 1, 1), date(2026, 3, 10)), (date(2026, 3, 10), None)]:
        book.deal(
            created=berlin(2024, 12, 1),
            organization=org,
            moves=[(book.won, berlin(2024, 12, 20))],
            contract_start=start,
            contract_end=end,
        )
    figures = card(tenant_a)
    assert figures["retention_rate"] == 1.0
    assert figures["inputs"]["customers_at_start"] == 1


def test_retention_is_null_without_customers_at_start(tenant_a, book):
    book.deal(
        created=berlin(2026, 3, 1),
        moves=[(book.won, berlin(2026, 3, 5))],
        contract_start=date(2026, 3, 5),
    )
    assert card(tenant_a)["retention_rate"] is None


# Lead response: median hours from creation to the first call, e-mail or meeting.


def test_lead_response_is_the_median_and_waiting_leads_are_counted(tenant_a, book):
    def lead(created, lifecycle="lead"):
        return factories.ContactFactory(lifecycle=lifecycle, created_at=created)

    def log(contact, kind, at, *, on_deal=None):
        if on_deal is None:
            return factories.ActivityFactory(contact=contact, kind=kind, occurred_at=at)
        activity = factories.ActivityFactory(contact=None, kind=kind, occurred_at=at)
        return factories.DealActivityFactory(deal=on_deal, activity=activity)

    # 2.5 h: a call on the contact itself.
    first = lead(berlin(2026, 3, 2, 9))
    log(first, "call", berlin(2026, 3, 2, 11, 30))
    # 24 h: a note after 30 minutes does not count; an e-mail on the deal it is primary on.
    second = lead(berlin(2026, 3, 3, 10))
    log(second, "note", berlin(2026, 3, 3, 10, 30))
    deal = book.deal(created=berlin(2026, 3, 3, 12), primary_contact=second)
    log(None, "email", berlin(2026, 3, 4, 10), on_deal=deal)
    # 1 h: a meeting on a deal it is one of the contacts of.
    third = lead(berlin(2026, 3, 5, 8))
    other = book.deal(created=berlin(2026, 3, 5, 8))
    DealContact.objects.create(deal=other, contact=third)
    log(None, "meeting", berlin(2026, 3, 5, 9), on_deal=other)
    # 3 h: a call an hour before the contact was entered answered someone else.
    fourth = lead(berlin(2026, 3, 6, 10))
    log(fourth, "call", berlin(2026, 3, 6, 9))
    log(fourth, "email", berlin(2026, 3, 6, 13))
    # Waiting: answered only after the end, and never answered.
    late = lead(berlin(2026, 3, 31, 23))
    log(late, "call", berlin(2026, 4, 1, 0, 30))
    lead(berlin(2026, 3, 10))
    # Outside the population: created as a customer; created at 1 April 00:00.
    lead(berlin(2026, 3, 4), lifecycle=Contact.Lifecycle.CUSTOMER)
    lead(berlin(2026, 4, 1))

    figures = card(tenant_a)
    # Median of 1, 2.5, 3 and 24: (2.5 + 3) / 2.
    assert figures["lead_response_hours"] == pytest.approx(2.75)
    assert figures["leads_unanswered"] == 2
    assert figures["inputs"]["leads"] == 6


def test_lead_response_counts_creation_lifecycle_not_todays(tenant_a):
    contact = factories.ContactFactory(lifecycle="lead", created_at=berlin(2026, 3, 2, 9))
    factories.ActivityFactory(contact=contact, kind="call", occurred_at=berlin(2026, 3, 2, 13))
    Contact.objects.filter(pk=contact.pk).update(lifecycle=Contact.Lifecycle.CUSTOMER)
    assert card(tenant_a)["lead_response_hours"] == pytest.approx(4.0)


def test_lead_response_is_null_without_leads_or_answers(tenant_a):
    figures = card(tenant_a)
    assert figures["lead_response_hours"] is None
    assert figures["leads_unanswered"] == 0
    factories.ContactFactory(lifecycle="lead", created_at=berlin(2026, 3, 9))
    figures = card(tenant_a)
    assert figures["lead_response_hours"] is None
    assert figures["leads_unanswered"] == 1


# Forecast, coverage, attainment: the pipeline as it stood at start, against the target.


@pytest.fixture
def forecast_book(tenant_a, book):
    """Open at 1 March 00:00 (Berlin), expected to close in March:
    10,000 in Lead (10 %) -> 1,000; 5,000 in Proposal (60 %) -> 3,000 (won on the 10th);
    2,000 moved Lead -> Proposal exactly at 00:00 on the 1st, so still in Lead -> 200.
    Forecast 4,200; open pipeline 17,000. Won in March: 5,000 + 1,000 = 6,000."""
    rep, rep2 = tenant_a.rep.user, tenant_a.rep2.user
    feb = berlin(2026, 2, 1)
    book.deal(created=feb, owner=rep, amount=10_000, expected_close=date(2026, 3, 20))
    book.deal(
        created=feb,
        owner=rep2,
        amount=5000,
        expected_close=date(2026, 3, 31),
        moves=[(book.proposal, berlin(2026, 2, 15)), (book.won, berlin(2026, 3, 10))],
    )
    book.deal(
        created=feb,
        owner=rep,
        amount=2000,
        expected_close=date(2026, 3, 1),
        moves=[(book.proposal, berlin(2026, 3, 1))],
    )
    # Not in the forecast: expected in April; created at the very instant of the snapshot.
    book.deal(created=feb, owner=rep, amount=40_000, expected_close=date(2026, 4, 1))
    book.deal(created=berlin(2026, 3, 1), owner=rep, amount=80_000, expected_close=date(2026, 3, 9))
    # Won in March without having been forecast.
    book.deal(
        created=berlin(2026, 3, 2), owner=rep, amount=1000, moves=[(book.won, berlin(2026, 3, 4))]
    )
    take_snapshot(day=date(2026, 3, 1))
    return book


def test_forecast_error_and_accuracy_use_the_snapshot_of_the_first_day(tenant_a, forecast_book):
    figures = card(tenant_a)
    assert figures["inputs"]["forecast"] == Decimal("4200.00")
    # (4200 - 6000) / 6000 = -0.3; accuracy 1 - |6000 - 4200| / 6000 = 0.7.
    assert figures["forecast_error"] == pytest.approx(-0.3)
    assert figures["forecast_accuracy"] == pytest.approx(0.7)


def test_forecast_accuracy_never_goes_below_zero(tenant_a, book):
    book.deal(
        created=berlin(2026, 2, 1),
        amount=20_000,
        stage=book.proposal,
        expected_close=date(2026, 3, 5),
    )
    book.deal(created=berlin(2026, 2, 1), amount=1000, moves=[(book.won, berlin(2026, 3, 5))])
    take_snapshot(day=date(2026, 3, 1))
    figures = card(tenant_a)
    # Forecast 20,000 x 60 % = 12,000 against 1,000 won: error +11, accuracy max(0, -10) = 0.
    assert figures["forecast_error"] == pytest.approx(11.0)
    assert figures["forecast_accuracy"] == 0.0


def test_forecast_figures_are_null_without_a_snapshot(tenant_a, book):
    book.deal(created=berlin(2026, 2, 1), amount=1000, moves=[(book.won, berlin(2026, 3, 5))])
    RevenueTarget.objects.create(start=date(2026, 3, 1), end=date(2026, 4, 1), amount=1000)
    figures = card(tenant_a)
    assert figures["forecast_error"] is None
    assert figures["forecast_accuracy"] is None
    assert figures["pipeline_coverage"] is None
    assert figures["target_attainment"] == 1.0  # the target needs no snapshot


def test_forecast_figures_are_null_when_nothing_was_won(tenant_a, book):
    book.deal(created=berlin(2026, 2, 1), amount=1000, expected_close=date(2026, 3, 5))
    take_snapshot(day=date(2026, 3, 1))
    figures = card(tenant_a)
    assert figures["inputs"]["forecast"] == Decimal("100.00")
    assert figures["forecast_error"] is None
    assert figures["forecast_accuracy"] is None


def test_coverage_and_attainment_use_a_quarterly_target_pro_rata(tenant_a, forecast_book):
    # A tenant-wide Q1 target of 90,000 over 90 days: March's 31 days count 31,000.
    RevenueTarget.objects.create(start=date(2026, 1, 1), end=date(2026, 4, 1), amount=90_000)
    # A rep's own target is not the team's.
    RevenueTarget.objects.create(
        owner=tenant_a.rep.user, start=date(2026, 3, 1), end=date(2026, 4, 1), amount=3000
    )
    figures = card(tenant_a)
    assert figures["inputs"]["target"] == Decimal("31000.00")
    assert figures["pipeline_coverage"] == pytest.approx(17_000 / 31_000)
    assert figures["target_attainment"] == pytest.approx(6000 / 31_000)


def test_an_owners_figures_use_the_owners_target(tenant_a, forecast_book):
    rep = tenant_a.rep.user
    RevenueTarget.objects.create(start=date(2026, 3, 1), end=date(2026, 4, 1), amount=99_000)
    RevenueTarget.objects.create(
        owner=rep, start=date(2026, 3, 1), end=date(2026, 4, 1), amount=4000
    )
    figures = card(tenant_a, owner=rep)
    # The rep's open pipeline at start: 10,000 + 2,000; won: 1,000; target 4,000.
    assert figures["pipeline_coverage"] == pytest.approx(12_000 / 4000)
    assert figures["target_attainment"] == pytest.approx(1000 / 4000)
    # Forecast 1,000 + 200 = 1,200 against 1,000 won.
    assert figures["forecast_error"] == pytest.approx(0.2)


def test_coverage_and_attainment_are_null_without_a_target(tenant_a, forecast_book):
    figures = card(tenant_a)
    assert figures["pipeline_coverage"] is None
    assert figures["target_attainment"] is None
    rep2 = tenant_a.rep2.user
    RevenueTarget.objects.create(start=date(2026, 3, 1), end=date(2026, 4, 1), amount=10_000)
    assert card(tenant_a, owner=rep2)["target_attainment"] is None  # rep2 has none


# Filters and isolation.


def test_owner_and_pipeline_filters_narrow_the_deals(tenant_a, book):
    rep, rep2 = tenant_a.rep.user, tenant_a.rep2.user
    renewals = make_book("Renewals", kind="renewals")
    onboarding = make_book("Onboarding", kind="onboarding")
    feb = berlin(2026, 2, 1)
    book.deal(created=feb, owner=rep, amount=1000, moves=[(book.won, berlin(2026, 3, 3))])
    book.deal(created=feb, owner=rep2, amount=4000, moves=[(book.lost, berlin(2026, 3, 3))])
    renewals.deal(created=feb, owner=rep2, amount=2000, moves=[(renewals.won, berlin(2026, 3, 3))])
    onboarding.deal(
        created=feb, owner=rep, amount=8000, moves=[(onboarding.won, berlin(2026, 3, 3))]
    )

    everyone = card(tenant_a)
    # Revenue pipelines only (sales, renewals): won 1000 + 2000 of 3 closed.
    assert everyone["won_revenue"] == Decimal("3000.00")
    assert everyone["close_rate"] == pytest.approx(2 / 3)
    assert card(tenant_a, owner=rep)["won_revenue"] == Decimal("1000.00")
    assert card(tenant_a, owner=rep2)["close_rate"] == 0.5
    assert card(tenant_a, pipeline=renewals.pipeline)["won_revenue"] == Decimal("2000.00")
    assert card(tenant_a, pipeline=onboarding.pipeline)["won_revenue"] == Decimal("8000.00")
    both = card(tenant_a, owner=rep2, pipeline=book.pipeline)
    assert (both["close_rate"], both["won_revenue"]) == (0.0, Decimal("0.00"))


def test_another_tenants_data_never_counts(org_a, org_b, tenant_a, book):
    book.deal(created=berlin(2026, 2, 1), amount=1000, moves=[(book.won, berlin(2026, 3, 3))])
    with org_b.activate():
        other = make_book()
        other.deal(
            created=berlin(2026, 2, 1), amount=50_000, moves=[(other.won, berlin(2026, 3, 3))]
        )
        other.deal(
            created=berlin(2026, 2, 1), amount=9000, moves=[(other.lost, berlin(2026, 3, 3))]
        )
        factories.ContactFactory(lifecycle="lead", created_at=berlin(2026, 3, 3))
        RevenueTarget.objects.create(start=date(2026, 3, 1), end=date(2026, 4, 1), amount=1)
        take_snapshot(day=date(2026, 3, 1))
    figures = card(org_a)
    assert figures["won_revenue"] == Decimal("1000.00")
    assert figures["close_rate"] == 1.0
    assert figures["leads_unanswered"] == 0
    assert figures["target_attainment"] is None
    assert figures["forecast_error"] is None
