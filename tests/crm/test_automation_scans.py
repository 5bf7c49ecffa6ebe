"""Beat's scans: one query over all tenants finds who has due work; each such tenant's
task runs under that tenant; nothing is queued where nothing is due, nothing twice."""

from datetime import UTC, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from contacts.tasks import (
    scan_overdue_digests,
    scan_pending_emails,
    scan_task_reminders,
    send_task_reminders,
)
from crm.automation import update_automation_settings
from crm.models import Notification, Tenant
from crm.notifications import notify
from pipeline.tasks import scan_weekly_summaries
from tests import factories
from tests.automation import at, notices

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "scanner"])


def _task(org, due, **fields):
    with org.activate():
        return factories.TaskFactory(
            assignee=org.rep.user, due_at=due, created_at=due - timedelta(days=2), **fields
        )


def _to_new_york(org):
    Tenant.objects.filter(pk=org.tenant.pk).update(time_zone="America/New_York")
    org.tenant.time_zone = "America/New_York"


def test_reminder_scans_queue_only_tenants_with_work_and_only_once(
    org_a, org_b, clock, eager, monkeypatch
):
    queued = []
    original = send_task_reminders.delay
    monkeypatch.setattr(
        send_task_reminders, "delay", lambda **kw: queued.append(kw) or original(**kw)
    )
    due = at(2026, 6, 3, 10, 0)
    _task(org_a, due, title="Acme call")
    _task(org_b, due + timedelta(hours=2), title="Globex call")
    clock(due - timedelta(minutes=15))
    assert scan_task_reminders() == 1
    assert queued == [{"tenant_id": org_a.tenant.pk}]
    assert scan_task_reminders() == 0
    assert [n.title.split(": ")[1] for n in notices(org_a, org_a.rep.user, "task_due")] == [
        "Acme call"
    ]
    assert notices(org_b, org_b.rep.user, "task_due") == []
    assert [m.to for m in mail.outbox] == [["rep@acme.test"]]


def test_the_reminder_scan_uses_each_tenants_lead_time(org_a, org_b, clock, eager):
    with org_a.activate():
        update_automation_settings(by=org_a.admin.user, reminder_lead_minutes=60)
    due = at(2026, 6, 3, 10, 0)
    _task(org_a, due)
    _task(org_b, due)
    clock(due - timedelta(minutes=30))
    assert scan_task_reminders() == 1
    assert len(notices(org_a, org_a.rep.user, "task_due")) == 1
    clock(due - timedelta(minutes=15))
    assert scan_task_reminders() == 1
    assert len(notices(org_b, org_b.rep.user, "task_due")) == 1


def test_the_digest_scan_follows_each_tenants_morning(org_a, org_b, clock, eager):
    _to_new_york(org_b)
    _task(org_a, at(2026, 6, 1, 12, 0))
    _task(org_b, at(2026, 6, 1, 12, 0))
    clock(at(2026, 6, 3, 6, 0, tz=UTC))  # 08:00 in Berlin, 02:00 in New York
    assert scan_overdue_digests() == 1
    assert scan_overdue_digests() == 0
    clock(at(2026, 6, 3, 12, 0, tz=UTC))  # 08:00 in New York
    assert scan_overdue_digests() == 1
    assert len(notices(org_a, org_a.rep.user, "overdue_digest")) == 1
    assert len(notices(org_b, org_b.rep.user, "overdue_digest")) == 1


def test_the_weekly_summary_scan_reaches_each_tenants_managers_once(org_a, org_b, clock, eager):
    _to_new_york(org_b)
    clock(at(2026, 6, 8, 7, 0, tz=UTC))  # Monday 09:00 in Berlin, 03:00 in New York
    assert scan_weekly_summaries() == 2  # Acme and the other tenant of every test (Berlin)
    assert scan_weekly_summaries() == 0
    assert len(notices(org_a, org_a.manager.user, "weekly_summary")) == 1
    assert notices(org_b, org_b.manager.user, "weekly_summary") == []
    clock(at(2026, 6, 8, 12, 0, tz=UTC))
    assert scan_weekly_summaries() == 1
    assert len(notices(org_b, org_b.manager.user, "weekly_summary")) == 1


def test_an_email_lost_after_its_notification_was_saved_is_sent_by_the_next_scan(
    org_a, org_b, clock, eager, monkeypatch
):
    start = clock(at(2026, 6, 3, 10, 0))
    # The process dies after the commit, before the e-mail goes out.
    monkeypatch.setattr("crm.notifications.transaction.on_commit", lambda fn, **kw: None)
    with org_a.activate():
        notify(recipient=org_a.rep.user, kind="system", key="lost-mail", title="Hello")
    monkeypatch.undo()
    assert mail.outbox == []
    assert scan_pending_emails() == 0  # give the normal path its grace period
    clock(start + timedelta(minutes=3))
    assert scan_pending_emails() == 1
    assert scan_pending_emails() == 0
    assert [m.subject for m in mail.outbox] == ["[Acme] Hello"]
    with org_a.activate():
        assert Notification.objects.get().emailed_at == timezone.now()
