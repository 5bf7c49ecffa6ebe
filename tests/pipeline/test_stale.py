"""Stale-deal alerts: past the stage's dwell limit or idle for the rotting period; once per
stage visit to the owner, at twice the limit to the managers too; a move or an activity
clears the state."""

from datetime import timedelta

import pytest
from django.core import mail

from crm.models import AutomationLog, Notification
from pipeline import services
from pipeline.models import Deal
from pipeline.services.stale import send_stale_alerts, stale_deals, tenant_limits
from tests import factories
from tests.automation import at, notices, sales_of

T0 = at(2026, 6, 1, 9, 0)
MINUTE = timedelta(minutes=1)


def _deal(org, stage, *, by=None, **fields):
    with org.activate():
        return services.create_deal(
            by=(by or org.rep).user,
            name=fields.pop("name", "Lumen rollout"),
            stage=stage,
            organization=factories.OrganizationFactory(),
            **fields,
        )


def _stale(org, now) -> list[int]:
    with org.activate():
        rotting, dwell = tenant_limits()
        return list(
            stale_deals(Deal.objects.all(), now=now, rotting=rotting, dwell=dwell).values_list(
                "pk", flat=True
            )
        )


def test_a_deal_at_exactly_its_limit_is_not_stale_a_minute_later_it_is(org_a, clock, send):
    sales = sales_of(org_a)
    clock(T0)
    deal = _deal(org_a, sales["New lead"])  # at most 7 days in New lead
    limit = clock(T0 + timedelta(days=7))
    assert _stale(org_a, limit) == []
    assert send(org_a, send_stale_alerts, now=limit) == 0
    later = clock(limit + MINUTE)
    assert _stale(org_a, later) == [deal.pk]
    assert send(org_a, send_stale_alerts, now=later) == 1
    assert send(org_a, send_stale_alerts, now=later + timedelta(hours=5)) == 0
    [alert] = notices(org_a, org_a.rep.user, "stale_deal")
    assert alert.title == "Stale deal: Lumen rollout"
    assert "over 7 days in New lead (limit 7)" in alert.body
    assert [m.to for m in mail.outbox] == [["rep@acme.test"]]
    assert notices(org_a, org_a.manager.user, "stale_deal") == []


def test_at_twice_the_limit_the_managers_are_told_too(org_a, clock, send):
    sales = sales_of(org_a)
    clock(T0)
    _deal(org_a, sales["New lead"])
    send(org_a, send_stale_alerts, now=clock(T0 + timedelta(days=8)))
    assert send(org_a, send_stale_alerts, now=clock(T0 + timedelta(days=14))) == 0
    assert send(org_a, send_stale_alerts, now=clock(T0 + timedelta(days=14) + MINUTE)) == 1
    assert send(org_a, send_stale_alerts, now=clock(T0 + timedelta(days=20))) == 0
    assert len(notices(org_a, org_a.rep.user, "stale_deal")) == 1
    [alert] = notices(org_a, org_a.manager.user, "stale_deal")
    assert alert.title == "Stale for twice the limit: Lumen rollout"
    assert notices(org_a, org_a.admin.user, "stale_deal") == []  # a manager exists


def test_a_deal_found_late_alerts_the_owner_and_the_managers_at_once(org_a, clock, send):
    sales = sales_of(org_a)
    clock(T0)
    _deal(org_a, sales["New lead"])
    assert send(org_a, send_stale_alerts, now=clock(T0 + timedelta(days=30))) == 2
    assert len(notices(org_a, org_a.rep.user, "stale_deal")) == 1
    assert len(notices(org_a, org_a.manager.user, "stale_deal")) == 1


def test_moving_the_deal_clears_the_stale_state_and_a_new_visit_can_alert_again(org_a, clock, send):
    sales = sales_of(org_a)
    clock(T0)
    deal = _deal(
        org_a,
        sales["New lead"],
        budget=50_000,
        authority="CFO",
        need="Growing team",
        timeline="Q3",
    )
    send(org_a, send_stale_alerts, now=clock(T0 + timedelta(days=7) + MINUTE))
    moved = clock(T0 + timedelta(days=8))
    with org_a.activate():
        services.move_deal(
            Deal.objects.get(pk=deal.pk), to_stage=sales["Qualified"], by=org_a.rep.user
        )
    assert _stale(org_a, moved) == []
    assert send(org_a, send_stale_alerts, now=clock(moved + timedelta(days=14))) == 0
    assert send(org_a, send_stale_alerts, now=clock(moved + timedelta(days=14) + MINUTE)) == 1
    first, second = notices(org_a, org_a.rep.user, "stale_deal")
    assert "in New lead" in first.body and "in Qualified" in second.body


def test_an_idle_deal_rots_and_logging_an_activity_clears_it(org_a, clock, send):
    sales = sales_of(org_a)
    clock(T0)
    # Negotiation allows 21 days; the rotting period (14 days) comes first.
    idle = _deal(org_a, sales["Negotiation"], name="Idle deal")
    busy = _deal(org_a, sales["Negotiation"], name="Busy deal")
    clock(T0 + timedelta(days=10))
    with org_a.activate():
        services.log_deal_activity(busy, by=org_a.rep.user, kind="call", subject="Checked in")
    assert _stale(org_a, clock(T0 + timedelta(days=14))) == []
    later = clock(T0 + timedelta(days=14) + MINUTE)
    assert _stale(org_a, later) == [idle.pk]
    assert send(org_a, send_stale_alerts, now=later) == 1
    [alert] = notices(org_a, org_a.rep.user, "stale_deal")
    assert alert.title == "Stale deal: Idle deal"
    assert "no activity for over 14 days (rotting period 14)" in alert.body
    clock(T0 + timedelta(days=15))
    with org_a.activate():
        services.log_deal_activity(idle, by=org_a.rep.user, kind="email", subject="Sent notes")
    assert _stale(org_a, T0 + timedelta(days=15)) == []
    assert _stale(org_a, T0 + timedelta(days=20)) == []  # before the dwell limit (21 days)


def test_the_rotting_period_is_the_tenants(org_a, clock, send):
    sales = sales_of(org_a)
    with org_a.activate():
        services.set_rotting_days(by=org_a.admin.user, days=5)
    clock(T0)
    deal = _deal(org_a, sales["Negotiation"])
    assert _stale(org_a, T0 + timedelta(days=5)) == []
    assert _stale(org_a, T0 + timedelta(days=5) + MINUTE) == [deal.pk]


def test_a_stage_without_a_limit_only_rots(org_a, clock, send):
    sales = sales_of(org_a)
    with org_a.activate():
        services.update_stage(sales["New lead"], by=org_a.admin.user, max_dwell_days=None)
    clock(T0)
    deal = _deal(org_a, sales["New lead"])
    assert _stale(org_a, T0 + timedelta(days=13)) == []
    assert _stale(org_a, T0 + timedelta(days=14) + MINUTE) == [deal.pk]


def test_closed_deals_are_never_stale(org_a, clock, send):
    sales = sales_of(org_a)
    clock(T0)
    deal = _deal(org_a, sales["Negotiation"], amount=1000)
    clock(T0 + timedelta(days=1))
    with org_a.activate():
        services.win_deal(Deal.objects.get(pk=deal.pk), by=org_a.rep.user)
    assert _stale(org_a, T0 + timedelta(days=90)) == []


def test_a_deal_nobody_owns_alerts_the_managers(org_a, clock, send):
    sales = sales_of(org_a)
    clock(T0)
    deal = _deal(org_a, sales["New lead"])
    with org_a.activate():
        Deal.objects.filter(pk=deal.pk).update(owner=None)
    assert send(org_a, send_stale_alerts, now=clock(T0 + timedelta(days=8))) == 1
    assert len(notices(org_a, org_a.manager.user, "stale_deal")) == 1


def test_the_alert_of_an_owner_who_left_goes_to_the_managers(org_a, clock, send):
    sales = sales_of(org_a)
    clock(T0)
    _deal(org_a, sales["New lead"])
    with org_a.activate():
        org_a.rep.is_active = False
        org_a.rep.save(update_fields=["is_active"])
    send(org_a, send_stale_alerts, now=clock(T0 + timedelta(days=8)))
    assert notices(org_a, org_a.rep.user, "stale_deal") == []
    assert len(notices(org_a, org_a.manager.user, "stale_deal")) == 1


@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_the_scan_alerts_each_tenants_own_people_and_nobody_twice(org_a, org_b, clock, eager):
    from pipeline.tasks import scan_stale_deals

    sales_a, sales_b = sales_of(org_a), sales_of(org_b)
    clock(T0)
    _deal(org_a, sales_a["New lead"], name="Acme deal")
    _deal(org_b, sales_b["New lead"], name="Globex deal")
    _deal(org_b, sales_b["Negotiation"], name="Fresh Globex deal")
    clock(T0 + timedelta(days=7))
    assert scan_stale_deals() == 0
    clock(T0 + timedelta(days=7) + MINUTE)
    assert scan_stale_deals() == 2
    assert scan_stale_deals() == 0
    [a] = notices(org_a, org_a.rep.user, "stale_deal")
    [b] = notices(org_b, org_b.rep.user, "stale_deal")
    assert a.title == "Stale deal: Acme deal" and b.title == "Stale deal: Globex deal"
    assert sorted(m.to[0] for m in mail.outbox) == ["rep@acme.test", "rep@globex.test"]
    with org_a.activate():
        assert AutomationLog.objects.count() == 1
        assert Notification.objects.count() == 1


def test_many_deals_going_stale_in_one_scan_give_each_owner_one_notice(org_a, clock, send):
    """One digest per member and run, listing the deals and leading to their stale list;
    a lone alert stays a notice about its deal; a second run sends nothing more."""
    sales = sales_of(org_a)
    clock(T0)
    for name in ("Alpha", "Beta", "Gamma"):
        _deal(org_a, sales["New lead"], name=name)
    _deal(org_a, sales["New lead"], name="Rep two's", owner=org_a.rep2.user)
    later = clock(T0 + timedelta(days=8))
    assert send(org_a, send_stale_alerts, now=later) == 4
    assert send(org_a, send_stale_alerts, now=clock(later + timedelta(minutes=5))) == 0
    [digest] = notices(org_a, org_a.rep.user, "stale_deal")
    assert digest.title == "3 deals went stale"
    assert digest.body.splitlines() == [
        f"• {name}: 8 days in New lead (limit 7)" for name in ("Alpha", "Beta", "Gamma")
    ]
    assert digest.url == "/acme/deals/?stale=true&owner=me"
    assert digest.read_at is None and digest.emailed_at is not None
    [alone] = notices(org_a, org_a.rep2.user, "stale_deal")
    assert alone.title == "Stale deal: Rep two's"
    assert sorted(m.subject for m in mail.outbox) == [
        "[Acme] 3 deals went stale",
        "[Acme] Stale deal: Rep two's",
    ]
    with org_a.activate():
        # One done-once mark per deal, as without grouping (METRICS.md automation_runs).
        assert AutomationLog.objects.runs().filter(automation="stale_deal").count() == 4


def test_managers_get_one_digest_of_the_deals_at_twice_the_limit(org_a, clock, send):
    sales = sales_of(org_a)
    clock(T0)
    _deal(org_a, sales["New lead"], name="Alpha")
    _deal(org_a, sales["New lead"], name="Beta", owner=org_a.rep2.user)
    assert send(org_a, send_stale_alerts, now=clock(T0 + timedelta(days=15))) == 4
    [digest] = notices(org_a, org_a.manager.user, "stale_deal")
    assert digest.title == "2 deals went stale"
    assert digest.body.splitlines() == [
        "• Alpha: 15 days in New lead (limit 7) (twice the limit)",
        "• Beta: 15 days in New lead (limit 7) (twice the limit)",
    ]
    assert digest.url == "/acme/deals/?stale=true"
