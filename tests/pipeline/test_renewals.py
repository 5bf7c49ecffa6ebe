"""Renewal notices 90, 60 and 30 days before a won deal's contract ends (managers copied at
30), in the tenant's calendar; the first opens a renewal deal in the renewals pipeline."""

from datetime import UTC, date

import pytest

from crm.models import AutomationLog, Tenant
from pipeline import services
from pipeline.models import Deal, Pipeline
from pipeline.services.renewals import send_renewal_notices, set_renewal_offsets
from tests import factories
from tests.automation import at, notices, sales_of


def _won(org, *, contract_end: date, pipeline_kind="sales", name="Northwind licence", **fields):
    """A deal of the rep's, won now with a contract that ends on `contract_end`."""
    sales = sales_of(org)
    with org.activate():
        if pipeline_kind == "sales":
            stage = sales["Negotiation"]
        else:
            stage = Pipeline.objects.get(kind=pipeline_kind).stages.get(name="Go-live")
        deal = services.create_deal(
            by=org.rep.user,
            name=name,
            stage=stage,
            organization=factories.OrganizationFactory(name="Northwind GmbH"),
            amount=24_000,
            contract_start=date(2025, 1, 1),
            **fields,
        )
        services.win_deal(deal, by=org.rep.user, contract_end=contract_end)
        return Deal.objects.get(pk=deal.pk)


def _renewal_deals(org) -> list[Deal]:
    with org.activate():
        return list(Deal.objects.filter(pipeline__kind="renewals").select_related("stage"))


def test_a_contract_ending_in_90_days_gets_a_notice_and_one_renewal_deal(org_a, clock, send):
    clock(at(2026, 6, 1, 9, 0))
    deal = _won(org_a, contract_end=date(2026, 8, 31))  # 91 days ahead
    assert send(org_a, send_renewal_notices, now=at(2026, 6, 1, 9, 0)) == 0
    assert _renewal_deals(org_a) == []
    clock(at(2026, 6, 2, 0, 0))  # 90 days before, at midnight in Berlin
    assert send(org_a, send_renewal_notices, now=at(2026, 6, 2, 0, 0)) == 1
    assert send(org_a, send_renewal_notices, now=at(2026, 6, 2, 15, 0)) == 0
    [notice] = notices(org_a, org_a.rep.user, "renewal")
    assert notice.title == "Renewal in 90 days: Northwind licence"
    assert "ends on 31 Aug 2026" in notice.body
    assert notices(org_a, org_a.manager.user, "renewal") == []
    [renewal] = _renewal_deals(org_a)
    assert renewal.name == "Renewal 2026: Northwind licence"
    assert (renewal.owner_id, renewal.organization_id) == (org_a.rep.user.pk, deal.organization_id)
    assert (renewal.amount, renewal.expected_close) == (deal.amount, date(2026, 8, 31))
    assert renewal.stage.name == "Renewal due" and renewal.is_open
    with org_a.activate():
        assert Pipeline.objects.filter(kind="renewals").count() == 1


def test_later_notices_go_out_at_60_and_30_days_with_managers_copied_at_30(org_a, clock, send):
    clock(at(2026, 6, 1, 9, 0))
    _won(org_a, contract_end=date(2026, 8, 30))
    for day in (date(2026, 6, 1), date(2026, 7, 1), date(2026, 7, 31)):  # 90, 60, 30 days
        assert send(org_a, send_renewal_notices, now=at(day.year, day.month, day.day, 8)) == 1
        assert send(org_a, send_renewal_notices, now=at(day.year, day.month, day.day, 9)) == 0
    titles = [n.title for n in notices(org_a, org_a.rep.user, "renewal")]
    assert [t.split(":")[0] for t in titles] == [
        "Renewal in 90 days",
        "Renewal in 60 days",
        "Renewal in 30 days",
    ]
    [copy] = notices(org_a, org_a.manager.user, "renewal")
    assert copy.title == "Renewal in 30 days: Northwind licence"
    assert "copied as a manager" in copy.body
    assert len(_renewal_deals(org_a)) == 1


def test_offsets_count_calendar_days_across_a_month_end(org_a, clock, send):
    clock(at(2026, 2, 20, 9, 0))
    _won(org_a, contract_end=date(2026, 5, 30))  # 90 days before is 1 March
    # 23:30 on 28 February in Berlin is still February; 00:00:30 on 1 March is due,
    # although it is still 28 February in UTC.
    assert send(org_a, send_renewal_notices, now=at(2026, 2, 28, 23, 30)) == 0
    due = at(2026, 3, 1, 0, 0, 30)
    assert due.astimezone(UTC).date() == date(2026, 2, 28)
    assert send(org_a, send_renewal_notices, now=due) == 1


def test_a_notice_due_on_the_day_clocks_go_forward_starts_at_local_midnight(org_a, clock, send):
    clock(at(2026, 3, 1, 9, 0))
    _won(org_a, contract_end=date(2026, 4, 28))  # 30 days before: Sunday 29 March (CET→CEST)
    assert send(org_a, send_renewal_notices, now=at(2026, 3, 1, 9, 0)) == 1  # the 60-day one
    assert send(org_a, send_renewal_notices, now=at(2026, 3, 28, 22, 59, 59, tz=UTC)) == 0
    assert send(org_a, send_renewal_notices, now=at(2026, 3, 28, 23, 0, 1, tz=UTC)) == 1


def test_a_notice_due_on_the_day_clocks_go_back_starts_at_local_midnight(org_a, clock, send):
    Tenant.objects.filter(pk=org_a.tenant.pk).update(time_zone="America/New_York")
    org_a.tenant.time_zone = "America/New_York"
    clock(at(2026, 10, 1, 9, 0))
    _won(org_a, contract_end=date(2026, 12, 1))  # 30 days before: 1 November (EDT→EST)
    assert send(org_a, send_renewal_notices, now=at(2026, 10, 2, 9, 0)) == 1  # the 60-day one
    # Midnight on 1 November is still daylight time in New York: 04:00 UTC.
    assert send(org_a, send_renewal_notices, now=at(2026, 11, 1, 3, 59, tz=UTC)) == 0
    assert send(org_a, send_renewal_notices, now=at(2026, 11, 1, 4, 0, tz=UTC)) == 1


def test_a_deal_won_late_gets_only_the_nearest_notice(org_a, clock, send):
    clock(at(2026, 6, 1, 9, 0))
    _won(org_a, contract_end=date(2026, 7, 11))  # 40 days left: the 90- and 60-day dates passed
    assert send(org_a, send_renewal_notices, now=at(2026, 6, 1, 9, 0)) == 1
    [notice] = notices(org_a, org_a.rep.user, "renewal")
    assert notice.title == "Renewal in 40 days: Northwind licence"
    with org_a.activate():
        steps = dict(AutomationLog.objects.values_list("step", "detail"))
    assert steps["90"] == {"skipped": True} and "days_left" in steps["60"]
    assert len(_renewal_deals(org_a)) == 1
    assert send(org_a, send_renewal_notices, now=at(2026, 6, 11, 9, 0)) == 1  # the 30-day one
    assert len(notices(org_a, org_a.rep.user, "renewal")) == 2


def test_ended_contracts_open_deals_and_onboarding_deals_get_no_notice(org_a, clock, send):
    clock(at(2026, 6, 1, 9, 0))
    _won(org_a, contract_end=date(2026, 5, 31))
    sales = sales_of(org_a)
    with org_a.activate():
        services.create_deal(
            by=org_a.rep.user,
            name="Still open",
            stage=sales["Negotiation"],
            organization=factories.OrganizationFactory(),
            contract_end=date(2026, 7, 1),
        )
    _won(org_a, contract_end=date(2026, 7, 1), pipeline_kind="onboarding", name="Onboarding")
    assert send(org_a, send_renewal_notices, now=at(2026, 6, 1, 9, 0)) == 0
    assert _renewal_deals(org_a) == []


def test_the_offsets_are_the_tenants(org_a, clock, send):
    with org_a.activate():
        set_renewal_offsets(by=org_a.admin.user, days=[45, 10], copy_managers_from=10)
    clock(at(2026, 6, 1, 9, 0))
    _won(org_a, contract_end=date(2026, 8, 30))
    assert send(org_a, send_renewal_notices, now=at(2026, 6, 1, 9)) == 0
    assert send(org_a, send_renewal_notices, now=at(2026, 7, 16, 9)) == 1  # 45 days
    assert send(org_a, send_renewal_notices, now=at(2026, 8, 20, 9)) == 1  # 10 days
    assert len(notices(org_a, org_a.manager.user, "renewal")) == 1


def test_moving_the_contract_end_brings_new_notices(org_a, clock, send):
    clock(at(2026, 6, 1, 9, 0))
    deal = _won(org_a, contract_end=date(2026, 8, 30))
    send(org_a, send_renewal_notices, now=at(2026, 6, 1, 9))
    with org_a.activate():
        services.update_deal(deal, by=org_a.manager.user, contract_end=date(2026, 9, 15))
    assert send(org_a, send_renewal_notices, now=at(2026, 6, 17, 9)) == 1
    assert len(_renewal_deals(org_a)) == 2


@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_the_scan_follows_each_tenants_calendar_and_keeps_tenants_apart(org_a, org_b, clock, eager):
    from pipeline.tasks import scan_renewals

    Tenant.objects.filter(pk=org_b.tenant.pk).update(time_zone="America/New_York")
    org_b.tenant.time_zone = "America/New_York"
    clock(at(2026, 5, 1, 9, 0))
    _won(org_a, contract_end=date(2026, 8, 31), name="Acme contract")
    _won(org_b, contract_end=date(2026, 8, 31), name="Globex contract")
    # 90 days before 31 August is 2 June: in Berlin since 22:00 UTC, in New York since 04:00.
    clock(at(2026, 6, 1, 23, 30, tz=UTC))
    assert scan_renewals() == 1
    assert [n.title for n in notices(org_a, org_a.rep.user, "renewal")] == [
        "Renewal in 90 days: Acme contract"
    ]
    assert notices(org_b, org_b.rep.user, "renewal") == []
    clock(at(2026, 6, 2, 4, 30, tz=UTC))
    assert scan_renewals() == 1
    assert scan_renewals() == 0
    assert [n.title for n in notices(org_b, org_b.rep.user, "renewal")] == [
        "Renewal in 90 days: Globex contract"
    ]
    assert len(_renewal_deals(org_a)) == len(_renewal_deals(org_b)) == 1
    [renewal_b] = _renewal_deals(org_b)
    assert renewal_b.tenant_id == org_b.tenant.pk


def test_contracts_coming_up_together_give_one_notice_leading_to_the_renewals_board(
    org_a, clock, send
):
    clock(at(2026, 6, 1, 9, 0))
    _won(org_a, contract_end=date(2026, 8, 30), name="Alpha licence")
    _won(org_a, contract_end=date(2026, 6, 21), name="Beta licence")
    assert send(org_a, send_renewal_notices, now=at(2026, 6, 1, 9, 0)) == 2
    assert send(org_a, send_renewal_notices, now=at(2026, 6, 1, 9, 5)) == 0
    [digest] = notices(org_a, org_a.rep.user, "renewal")
    assert digest.title == "2 contracts up for renewal"
    assert digest.body.splitlines() == [
        "• Alpha licence: ends 30 Aug 2026, in 90 days",
        "• Beta licence: ends 21 Jun 2026, in 20 days",
    ]
    with org_a.activate():
        renewals = Pipeline.objects.get(kind="renewals")
    assert digest.url == f"/acme/deals/board/?pipeline={renewals.pk}"
    [copy] = notices(org_a, org_a.manager.user, "renewal")  # copied at 30 days: alone
    assert copy.title == "Renewal in 20 days: Beta licence"
    assert len(_renewal_deals(org_a)) == 2
