"""The health figures of METRICS.md, each on a tiny dataset worked out by hand.

Tenant A is on Europe/Berlin; unless said otherwise the period is March 2026 and `end`
is 2026-04-01 00:00 CEST. The default rotting period is 14 days, so it starts at
2026-03-18 00:00 (tenant time, before the switch to summer time on the 29th).
"""

from __future__ import annotations

from datetime import date

import pytest
from django.test import override_settings

from crm.models import AuditEvent, AutomationLog, Membership, Role
from pipeline.models import DealTask, PipelineSettings, StageCriterion
from reporting.models import MemberActivityDay
from reporting.periods import Period
from reporting.scorecards import compute_scorecard, compute_team
from tests import factories
from tests.reporting.conftest import BERLIN, MARCH, berlin


@pytest.fixture(autouse=True)
def members_since_2025(tenant_a):
    Membership.objects.update(created_at=berlin(2025, 1, 1))


def card(org, **kwargs):
    return compute_scorecard(org.tenant, **{**MARCH, **kwargs})


# Daily active users: mean over the days of (active members / members that day).

END_OF_MARCH = {"start": date(2026, 3, 28), "end": date(2026, 3, 31)}


@pytest.fixture
def usage(tenant_a):
    """28-30 March. rep2 leaves on the 29th at noon; a newcomer joins on the 30th, 23:00.
    28th: rep visits, the manager changes a record at 23:30 -> 2 of 4.
    29th: rep visits and changes a record (once) -> 1 of 4 (rep2 still covered part of it).
    30th: the admin's change at 00:30 (22:30 UTC on the 29th), the newcomer visits -> 2 of 4.
    Mean: (1/2 + 1/4 + 1/2) / 3 = 5/12."""
    org = tenant_a
    Membership.objects.filter(pk=org.rep2.pk).update(
        is_active=False, deactivated_at=berlin(2026, 3, 29, 12)
    )
    newcomer = factories.MembershipFactory(tenant=org.tenant, role=Role.REP)
    Membership.objects.filter(pk=newcomer.pk).update(created_at=berlin(2026, 3, 30, 23))
    for user, day in [(org.rep.user, 28), (org.rep.user, 29), (newcomer.user, 30)]:
        MemberActivityDay.objects.create(user=user, day=date(2026, 3, day))
    for user, at in [
        (org.manager.user, berlin(2026, 3, 28, 23, 30)),
        (org.rep.user, berlin(2026, 3, 29, 10)),
        (org.admin.user, berlin(2026, 3, 30, 0, 30)),
        (org.admin.user, berlin(2026, 3, 31, 0, 0)),  # the day after the period
    ]:
        # Written as record_event would at that instant (audit rows are never updated).
        AuditEvent.objects.create(
            actor=user, verb="contact.updated", target_type="crm.tenant", created_at=at
        )
    return newcomer


def test_daily_active_users_is_the_mean_of_each_days_share(tenant_a, usage):
    assert card(tenant_a, **END_OF_MARCH)["daily_active_users"] == pytest.approx(5 / 12)


def test_daily_active_users_for_one_member_and_in_the_team_table(tenant_a, usage):
    rep, rep2 = tenant_a.rep.user, tenant_a.rep2.user
    # rep: active on the 28th and 29th of 3 days covered.
    assert card(tenant_a, owner=rep, **END_OF_MARCH)["daily_active_users"] == pytest.approx(2 / 3)
    team = compute_team(tenant_a.tenant, **END_OF_MARCH)
    assert team[rep.pk]["daily_active_users"] == pytest.approx(2 / 3)
    assert team[rep2.pk]["daily_active_users"] == 0.0  # covered the 28th and 29th, never active
    assert team[usage.user_id]["daily_active_users"] == 1.0  # covered the 30th only, active


def test_daily_active_users_is_null_without_members(tenant_a):
    # Nobody was a member in 2024 (they joined in 2025).
    assert (
        card(tenant_a, start=date(2024, 3, 1), end=date(2024, 4, 1))["daily_active_users"] is None
    )


# Data completeness: filled required fields / required fields, over what exists at end.


def tiny_required(tenant):
    return {"contact": ["email", "phone"], "organization": ["industry"], "deal": ["amount"]}


@override_settings(KEEL_REQUIRED_FIELDS="tests.reporting.test_health.tiny_required")
def test_data_completeness_counts_required_fields_of_records_at_the_end(tenant_a, book):
    feb = berlin(2026, 2, 1)
    contact = factories.ContactFactory
    contact(email="a@x.test", phone="", created_at=feb)  # 1 of 2
    contact(email="", phone="   ", created_at=feb)  # 0 of 2: blanks do not count
    contact(email="c@x.test", phone="1", created_at=berlin(2026, 4, 1))  # created at end: out
    contact(email="d@x.test", phone="1", created_at=feb, erased_at=berlin(2026, 3, 15))  # out
    contact(email="e@x.test", phone="1", created_at=feb, erased_at=berlin(2026, 4, 2))  # 2 of 2
    factories.OrganizationFactory(industry="software", created_at=feb)  # 1 of 1
    factories.OrganizationFactory(industry="", created_at=feb)  # 0 of 1
    # Proposal's entry criteria require the budget and a custom PO number.
    StageCriterion.objects.create(
        stage=book.proposal, when="entry", kind="field", field_name="budget"
    )
    StageCriterion.objects.create(
        stage=book.proposal, when="entry", kind="field", field_name="custom:po_number"
    )
    book.deal(created=feb, amount=1000)  # Lead: amount -> 1 of 1
    book.deal(  # Proposal since 10 March: amount, budget, PO number -> budget only, 1 of 3
        created=feb,
        amount=None,
        budget=500,
        custom_fields={"po_number": ""},
        moves=[(book.proposal, berlin(2026, 3, 10))],
    )
    # In Proposal today but still in Lead at the end (moved on 2 April): 1 of 1.
    book.deal(created=feb, amount=100, moves=[(book.proposal, berlin(2026, 4, 2))])
    book.deal(created=feb, amount=None, moves=[(book.won, berlin(2026, 3, 20))])  # closed: out
    book.deal(created=berlin(2026, 4, 1), amount=None)  # created at the end: out
    figures = card(tenant_a)
    # Filled: contacts 1 + 0 + 2, organizations 1 + 0, deals 1 + 1 + 1 = 7.
    # Required: contacts 2 + 2 + 2, organizations 1 + 1, deals 1 + 3 + 1 = 13.
    assert (figures["inputs"]["filled_fields"], figures["inputs"]["required_fields"]) == (7, 13)
    assert figures["data_completeness"] == pytest.approx(7 / 13)


@override_settings(KEEL_REQUIRED_FIELDS="tests.reporting.test_health.tiny_required")
def test_a_custom_field_criterion_is_met_by_a_value(tenant_a, book):
    StageCriterion.objects.create(
        stage=book.lead, when="entry", kind="field", field_name="custom:po_number"
    )
    book.deal(created=berlin(2026, 2, 1), amount=None, custom_fields={"po_number": "PO-7"})
    assert card(tenant_a)["data_completeness"] == 0.5  # amount missing, PO number there


def test_data_completeness_is_null_without_records(tenant_a):
    assert card(tenant_a)["data_completeness"] is None


# Activities per user per week: activities in the period / members at end / (days / 7).


def test_activity_logging_rate_per_member_and_week(tenant_a):
    rep, rep2 = tenant_a.rep.user, tenant_a.rep2.user
    for day in (2, 9, 16, 23, 30):
        factories.ActivityFactory(logged_by=rep, occurred_at=berlin(2026, 3, day, 10))
    factories.ActivityFactory(logged_by=rep, occurred_at=berlin(2026, 3, 31, 23, 59))
    factories.ActivityFactory(logged_by=rep2, occurred_at=berlin(2026, 3, 1, 0, 0))
    factories.ActivityFactory(logged_by=rep2, occurred_at=berlin(2026, 3, 12))
    factories.ActivityFactory(logged_by=rep2, kind="note", occurred_at=berlin(2026, 3, 13))
    factories.ActivityFactory(logged_by=rep2, occurred_at=berlin(2026, 4, 1, 0, 0))  # April
    factories.ActivityFactory(logged_by=rep2, occurred_at=berlin(2026, 2, 28, 23, 59))  # Feb
    # 9 activities in March, 4 members at the end, 31 days = 31/7 weeks: 9 / 4 / (31/7).
    assert card(tenant_a)["activity_logging_rate"] == pytest.approx(63 / 124)
    # The rep alone: 6 / 1 / (31/7) = 42/31.
    assert card(tenant_a, owner=rep)["activity_logging_rate"] == pytest.approx(42 / 31)


def test_activity_logging_rate_is_null_without_members_at_the_end(tenant_a):
    Membership.objects.update(created_at=berlin(2026, 4, 1))
    assert card(tenant_a)["activity_logging_rate"] is None


# Pipeline hygiene and stale deals: open deals at end.


@pytest.fixture
def hygiene(tenant_a, book):
    """Lead allows 7 days (Proposal has no limit); the rotting period starts 18 March 00:00."""

    def task(deal, created, done=None, cancelled=None):
        t = factories.TaskFactory(created_at=created, done_at=done, cancelled_at=cancelled)
        DealTask.objects.create(deal=deal, task=t)

    def activity(deal, at):
        a = factories.ActivityFactory(contact=None, organization=deal.organization, occurred_at=at)
        factories.DealActivityFactory(deal=deal, activity=a)

    feb = berlin(2026, 2, 1)
    # 1. In Lead for 4 days with an open task: hygienic; new, so not stale.
    fresh = book.deal(created=berlin(2026, 3, 28))
    task(fresh, berlin(2026, 3, 28))
    # 2. In Lead for 12 days > 7 with an open task: over the limit, so stale, not hygienic.
    slow = book.deal(created=berlin(2026, 3, 20))
    task(slow, berlin(2026, 3, 20))
    # 3. Proposal, task done at 23:00 before the end; an activity on the 25th: neither.
    done = book.deal(created=feb, moves=[(book.proposal, berlin(2026, 3, 1))])
    task(done, berlin(2026, 3, 1), done=berlin(2026, 3, 31, 23))
    activity(done, berlin(2026, 3, 25))
    # 4. Proposal, task done only on 2 April (open at the end): hygienic; its last
    #    activity on 17 March 23:59 is before the rotting period: stale.
    quiet = book.deal(created=feb, moves=[(book.proposal, berlin(2026, 2, 10))])
    task(quiet, berlin(2026, 3, 1), done=berlin(2026, 4, 2))
    activity(quiet, berlin(2026, 3, 17, 23, 59))
    # 5. Proposal since the 20th (created within the rotting period), nothing else:
    #    not stale for lack of activity, not hygienic (no next action).
    book.deal(created=berlin(2026, 3, 20), moves=[(book.proposal, berlin(2026, 3, 21))])
    # Not open at the end: won in March; created at the end.
    book.deal(created=feb, moves=[(book.won, berlin(2026, 3, 30))])
    book.deal(created=berlin(2026, 4, 1))
    return book


def test_pipeline_hygiene_and_stale_deals_at_the_end(tenant_a, hygiene):
    figures = card(tenant_a)
    assert figures["inputs"]["open_deals"] == 5
    assert figures["pipeline_hygiene"] == pytest.approx(2 / 5)  # deals 1 and 4
    assert figures["stale_deals"] == 2  # deals 2 (dwell) and 4 (no recent activity)


def test_a_longer_rotting_period_keeps_older_activity_fresh(tenant_a, hygiene):
    PipelineSettings.objects.create(rotting_days=15)  # from 17 March 00:00
    assert card(tenant_a)["stale_deals"] == 1


def test_pipeline_hygiene_is_null_without_open_deals(tenant_a):
    figures = card(tenant_a)
    assert figures["pipeline_hygiene"] is None
    assert figures["stale_deals"] == 0


# Automation runs: reminders, stale-deal alerts, renewal notices, cadence tasks.


def test_automation_runs_count_what_the_jobs_created_in_the_period(tenant_a):
    rep, rep2 = tenant_a.rep.user, tenant_a.rep2.user

    def run(automation, at, user=rep, n=[0]):  # noqa: B006 (a counter for unique subjects)
        n[0] += 1
        AutomationLog.objects.create(
            automation=automation,
            subject_type="contacts.task",
            subject_id=n[0],
            window=at,
            user=user,
            summary="done",
            created_at=at,
        )

    run("task_reminder", berlin(2026, 3, 2))
    run("task_reminder", berlin(2026, 3, 31, 23, 59))
    run("stale_deal", berlin(2026, 3, 5))
    run("renewal", berlin(2026, 3, 6), user=rep2)
    run("cadence", berlin(2026, 3, 1, 0, 0))
    run("assignment", berlin(2026, 3, 7), user=rep2)
    run("overdue_digest", berlin(2026, 3, 6))  # a digest is not among the figure's runs
    run("weekly_summary", berlin(2026, 3, 6))
    run("task_reminder", berlin(2026, 4, 1))  # April
    run("cadence", berlin(2026, 2, 28, 23, 59))  # February
    # 2 reminders + 1 stale-deal alert + 1 renewal notice + 1 cadence task + 1 assignment.
    assert card(tenant_a)["automation_runs"] == 6
    assert card(tenant_a, owner=rep2)["automation_runs"] == 2


def test_automation_runs_are_zero_when_nothing_ran(tenant_a):
    assert card(tenant_a)["automation_runs"] == 0


def test_health_figures_ignore_another_tenant(org_a, org_b, tenant_a):
    with org_b.activate():
        Membership.objects.update(created_at=berlin(2025, 1, 1))
        factories.ActivityFactory(logged_by=org_b.rep.user, occurred_at=berlin(2026, 3, 3))
        MemberActivityDay.objects.create(user=org_b.rep.user, day=date(2026, 3, 28))
        AutomationLog.objects.create(
            automation="cadence", subject_type="pipeline.deal", subject_id=1,
            window=berlin(2026, 3, 3), summary="x", created_at=berlin(2026, 3, 3),
        )  # fmt: skip
    figures = card(org_a, **END_OF_MARCH)
    assert figures["daily_active_users"] == 0.0
    assert card(org_a)["activity_logging_rate"] == 0.0
    assert card(org_a)["automation_runs"] == 0


def test_the_health_dashboards_hygiene_counts_and_stale_list(tenant_a, hygiene):
    from reporting.scorecards import Scope
    from reporting.selectors import stale_deal_list

    scope = Scope(tenant=tenant_a.tenant, period=Period(MARCH["start"], MARCH["end"], BERLIN))
    table, counts = stale_deal_list(scope)
    # No next action: deals 3 and 5; over the limit: 2; quiet too long: 4.
    assert counts == {"open": 5, "no_task": 2, "over_limit": 1, "rotting": 1, "stale": 2}
    # Longest in its stage first: deal 4 (Proposal since 10 February), then deal 2 (since
    # 20 March); whole days of elapsed time, an hour short of 50 and 12 across the DST switch.
    assert [row[3] for row in table.rows] == [49, 11]
