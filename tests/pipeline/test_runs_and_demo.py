"""What reporting counts (METRICS.md automation_runs), `manage.py run_automations`, the
demo's showcase deals, and the renewals pipeline of a workspace that predates it."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from contacts.services import create_contact
from contacts.services.assignment import create_assignment_rule
from crm.models import AutomationLog, Notification
from demo.automations import RENEWAL_DEAL, STALE_DEAL
from pipeline import services
from pipeline.models import Deal, Pipeline
from pipeline.services.automations import automation_runs
from pipeline.services.cadences import add_cadence_step
from pipeline.services.renewals import send_renewal_notices
from pipeline.services.stale import send_stale_alerts
from tests import factories
from tests.automation import at, sales_of

T0 = at(2026, 6, 1, 9, 0)


def test_automation_runs_counts_what_each_automation_created_in_the_period(
    org_a, org_b, clock, send
):
    sales = sales_of(org_a)
    clock(T0)
    with org_a.activate():
        add_cadence_step(sales["New lead"], by=org_a.admin.user, offset_days=1, title="Call")
        create_assignment_rule(by=org_a.admin.user, name="All", members=[org_a.rep.user])
        create_contact(by=org_a.admin.user, first_name="Ann")  # an assignment
        services.create_deal(  # a cadence task, later a stale alert
            by=org_a.rep.user,
            name="Deal",
            stage=sales["New lead"],
            organization=factories.OrganizationFactory(),
            owner=org_a.rep.user,
        )
        factories.TaskFactory(assignee=org_a.rep.user, due_at=T0 + timedelta(days=8))
    with org_b.activate():
        create_assignment_rule(by=org_b.admin.user, name="All", members=[org_b.rep.user])
        create_contact(by=org_b.admin.user, first_name="Bob")
    later = clock(T0 + timedelta(days=8))
    send(org_a, send_stale_alerts, now=later)
    from contacts.services.reminders import send_due_reminders

    send(org_a, send_due_reminders, now=later)
    with org_a.activate():
        runs = automation_runs(start=T0, end=T0 + timedelta(days=9))
        before = automation_runs(start=T0 - timedelta(days=1), end=T0)
    assert runs == {
        "task_reminder": 1,
        "stale_deal": 1,
        "renewal": 0,
        "assignment": 1,
        "cadence": 1,
        "total": 4,
    }
    assert before["total"] == 0


def test_skipped_renewal_notices_and_renewal_deals_are_not_runs(org_a, clock, send):
    sales = sales_of(org_a)
    clock(T0)
    with org_a.activate():
        deal = services.create_deal(
            by=org_a.rep.user,
            name="Licence",
            stage=sales["Negotiation"],
            organization=factories.OrganizationFactory(),
            amount=1000,
        )
        services.win_deal(deal, by=org_a.rep.user, contract_end=date(2026, 7, 11))
    send(org_a, send_renewal_notices, now=T0)  # 40 days left: 60 sent, 90 skipped
    with org_a.activate():
        assert AutomationLog.objects.filter(automation="renewal").count() == 3
        assert automation_runs(start=T0, end=T0 + timedelta(days=1))["renewal"] == 1


def test_a_workspace_without_a_renewals_pipeline_gets_one_when_first_needed(org_a, clock, send):
    sales = sales_of(org_a)
    with org_a.activate():
        Pipeline.objects.filter(kind="renewals").delete()
    clock(T0)
    with org_a.activate():
        deal = services.create_deal(
            by=org_a.rep.user,
            name="Licence",
            stage=sales["Negotiation"],
            organization=factories.OrganizationFactory(),
            amount=1000,
        )
        services.win_deal(deal, by=org_a.rep.user, contract_end=date(2026, 8, 30))
    send(org_a, send_renewal_notices, now=T0)
    with org_a.activate():
        renewals = Pipeline.objects.get(kind="renewals")
        assert [s.name for s in renewals.stages.all()] == [
            "Renewal due",
            "In discussion",
            "Renewed",
            "Churned",
        ]
        assert Deal.objects.filter(pipeline=renewals).count() == 1


@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_run_automations_runs_the_scans_now(org_a, clock, capsys):
    sales = sales_of(org_a)
    clock(T0)
    with org_a.activate():
        services.create_deal(
            by=org_a.rep.user,
            name="Quiet",
            stage=sales["New lead"],
            organization=factories.OrganizationFactory(),
        )
    clock(T0 + timedelta(days=8))
    call_command("run_automations", "stale", "--here")
    assert "stale      1 tenant(s) with due work, done here" in capsys.readouterr().out
    call_command("run_automations", "--here")
    out = capsys.readouterr().out
    assert "stale      0 tenant(s)" in out and "renewals   0 tenant(s)" in out
    with pytest.raises(CommandError):
        call_command("run_automations", "everything")
    with org_a.activate():
        assert Notification.objects.filter(kind="stale_deal").count() == 1


@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_the_demo_shows_one_stale_alert_and_one_renewal_notice_that_do_not_repeat(org_a):
    """The automations' demo seeder (seed_demo runs it after the other seeders)."""
    import io

    from demo import automations as automation_demo

    sales_of(org_a)
    members = {m.user.email: m for m in (org_a.admin, org_a.manager, org_a.rep, org_a.rep2)}
    for _ in range(2):
        with org_a.activate():
            automation_demo.seed(tenant=org_a.tenant, members=members, stdout=io.StringIO())
    with org_a.activate():
        assert Deal.objects.filter(name__in=[STALE_DEAL, RENEWAL_DEAL]).count() == 2
    for _ in range(2):
        call_command("run_automations", "stale", "renewals", "--here")
    with org_a.activate():
        stale = Notification.objects.filter(title=f"Stale deal: {STALE_DEAL}")
        renewal = Notification.objects.filter(title=f"Renewal in 90 days: {RENEWAL_DEAL}")
        assert [n.recipient_id for n in stale] == [org_a.rep.user.pk]
        assert [n.recipient_id for n in renewal] == [org_a.rep.user.pk]
        assert Notification.objects.count() == 2
        assert (
            Deal.objects.filter(pipeline__kind="renewals", name__endswith=RENEWAL_DEAL).count() == 1
        )
    assert sorted(m.subject for m in mail.outbox) == [
        f"[Acme] Renewal in 90 days: {RENEWAL_DEAL}",
        f"[Acme] Stale deal: {STALE_DEAL}",
    ]


@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_after_seed_demo_and_the_scans_the_demo_rep_has_one_notice_per_kind(clock):
    """The whole demo (seed_demo), then every scan as the first worker run does, twice:
    the rep's bell shows one notice per kind, each saying what fell together."""
    from crm.models import Tenant, User

    clock(at(2026, 6, 2, 9, 0))  # a Tuesday, after the digest hour
    call_command("seed_demo")
    for _ in range(2):
        call_command("run_automations", "--here")
    from tests.conftest import _activated

    with _activated(Tenant.objects.get(slug="demo")):
        rep = User.objects.get(email="rep@demo.keel.test")
        unread = {
            n.kind: n for n in Notification.objects.filter(recipient=rep, read_at__isnull=True)
        }
        count = Notification.objects.filter(recipient=rep, read_at__isnull=True).count()
    assert count == len(unread) == 4
    assert {kind: n.title for kind, n in unread.items()} == {
        # seed_demo's health scores put one of the rep's customers at risk,
        "churn_risk": "Customer at risk: Alpenrose Energy AG",
        # the rep's open next actions include a dozen past their due date (the 08:00
        # digest; the one that fell due in the night is not reminded on top),
        "overdue_digest": "Your day: 12 overdue tasks",
        # the first stale scan finds the showcase deal and older stale ones at once,
        "stale_deal": "7 deals went stale",
        # and the renewal scan the showcase contract and one more.
        "renewal": "2 contracts up for renewal",
    }
    assert f"• {STALE_DEAL}: " in unread["stale_deal"].body
    assert f"• {RENEWAL_DEAL}: ends " in unread["renewal"].body
    assert unread["stale_deal"].url == "/demo/deals/?stale=true&owner=me"
