"""Follow-up cadences: entering a stage plans its tasks, leaving it cancels the open ones."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from contacts.models import Task
from contacts.services import complete_task
from crm.models import AutomationLog
from pipeline import services
from pipeline.models import Deal, DealTask
from pipeline.services.cadences import add_cadence_step, remove_cadence_step
from tests import factories
from tests.automation import at, sales_of

T0 = at(2026, 6, 1, 9, 0)
QUALIFIED = dict(budget=50_000, authority="CFO", need="Growth", timeline="Q3")
PROPOSAL = dict(amount=48_000, expected_close=date(2026, 9, 30))


@pytest.fixture
def proposal_cadence(org_a):
    sales = sales_of(org_a)
    with org_a.activate():
        for days, title in [
            (2, "Check the proposal arrived"),
            (5, "Ask for feedback"),
            (10, "Push for a decision"),
        ]:
            add_cadence_step(sales["Proposal"], by=org_a.admin.user, offset_days=days, title=title)
    return sales


def _deal(org, stage, **fields):
    with org.activate():
        return services.create_deal(
            by=org.rep.user,
            name="Kestrel CRM",
            stage=stage,
            organization=factories.OrganizationFactory(),
            **QUALIFIED,
            **PROPOSAL,
            **fields,
        )


def _move(org, deal, stage, *, by=None):
    with org.activate():
        return services.move_deal(
            Deal.objects.get(pk=deal.pk), to_stage=stage, by=(by or org.rep).user
        )


def _tasks(org, deal):
    with org.activate():
        ids = DealTask.objects.filter(deal_id=deal.pk).values("task_id")
        return list(Task.objects.filter(pk__in=ids).order_by("due_at", "pk"))


def test_entering_the_stage_plans_its_tasks(org_a, proposal_cadence, clock):
    sales = proposal_cadence
    clock(T0)
    deal = _deal(org_a, sales["Qualified"])
    assert _tasks(org_a, deal) == []
    entered = clock(T0 + timedelta(hours=3))
    _move(org_a, deal, sales["Proposal"])
    tasks = _tasks(org_a, deal)
    assert [(t.title, t.due_at) for t in tasks] == [
        ("Check the proposal arrived", entered + timedelta(days=2)),
        ("Ask for feedback", entered + timedelta(days=5)),
        ("Push for a decision", entered + timedelta(days=10)),
    ]
    assert {(t.source, t.assignee_id, t.organization_id) for t in tasks} == {
        ("cadence", org_a.rep.user.pk, deal.organization_id)
    }
    with org_a.activate():
        logged = AutomationLog.objects.runs().filter(automation="cadence")
        assert sorted(logged.values_list("subject_id", flat=True)) == sorted(t.pk for t in tasks)


def test_leaving_the_stage_cancels_the_open_ones_and_keeps_the_done_ones(
    org_a, proposal_cadence, clock
):
    sales = proposal_cadence
    clock(T0)
    deal = _deal(org_a, sales["Qualified"])
    _move(org_a, deal, sales["Proposal"])
    first, *_ = _tasks(org_a, deal)
    clock(T0 + timedelta(days=3))
    with org_a.activate():
        complete_task(first, by=org_a.rep.user)
    _move(org_a, deal, sales["Negotiation"])
    assert [t.status for t in _tasks(org_a, deal)] == ["done", "cancelled", "cancelled"]


def test_winning_the_deal_cancels_them_too(org_a, proposal_cadence, clock):
    sales = proposal_cadence
    clock(T0)
    deal = _deal(org_a, sales["Proposal"])  # created straight into the stage
    assert len(_tasks(org_a, deal)) == 3
    with org_a.activate():
        services.win_deal(Deal.objects.get(pk=deal.pk), by=org_a.rep.user)
    assert {t.status for t in _tasks(org_a, deal)} == {"cancelled"}


def test_coming_back_to_the_stage_plans_a_new_round(org_a, proposal_cadence, clock):
    sales = proposal_cadence
    clock(T0)
    deal = _deal(org_a, sales["Proposal"])
    clock(T0 + timedelta(days=1))
    _move(org_a, deal, sales["Negotiation"])
    back = clock(T0 + timedelta(days=2))
    _move(org_a, deal, sales["Proposal"], by=org_a.manager)
    tasks = _tasks(org_a, deal)
    assert [t.status for t in tasks] == [
        "cancelled",
        "open",
        "cancelled",
        "open",
        "cancelled",
        "open",
    ]
    assert [t.due_at for t in tasks if t.is_open] == [back + timedelta(days=d) for d in (2, 5, 10)]


def test_a_stage_without_a_cadence_plans_nothing_and_other_tasks_are_left_alone(
    org_a, proposal_cadence, clock
):
    sales = proposal_cadence
    clock(T0)
    deal = _deal(org_a, sales["Qualified"])
    with org_a.activate():
        manual = services.create_deal_task(
            Deal.objects.get(pk=deal.pk), by=org_a.rep.user, title="Call the CFO"
        )
    _move(org_a, deal, sales["Proposal"])
    _move(org_a, deal, sales["Negotiation"])
    with org_a.activate():
        manual.refresh_from_db()
    assert manual.is_open


def test_the_cadence_belongs_to_the_tenant(org_a, org_b, proposal_cadence, clock):
    sales_b = sales_of(org_b)
    clock(T0)
    deal = _deal(org_b, sales_b["Proposal"])
    assert _tasks(org_b, deal) == []
    with org_b.activate(), pytest.raises(ValidationError):
        add_cadence_step(
            proposal_cadence["Proposal"], by=org_b.admin.user, offset_days=1, title="x"
        )


def test_steps_are_validated_and_removed_steps_plan_nothing(org_a, proposal_cadence, clock):
    sales = proposal_cadence
    with org_a.activate():
        for bad in [{"offset_days": 400, "title": "x"}, {"offset_days": 1, "title": " "}]:
            with pytest.raises(ValidationError):
                add_cadence_step(sales["Proposal"], by=org_a.admin.user, **bad)
        with pytest.raises(ValidationError):
            add_cadence_step(
                sales["Proposal"],
                by=org_a.admin.user,
                offset_days=2,
                title="Check the proposal arrived",
            )
        for step in sales["Proposal"].cadence_steps.all():
            remove_cadence_step(step, by=org_a.admin.user)
    clock(T0)
    assert _tasks(org_a, _deal(org_a, sales["Proposal"])) == []
