"""Follow-up reminders: a notice when a task falls due, and the 08:00 digest of overdue tasks."""

from datetime import UTC, timedelta

from django.core import mail

from contacts.models import Task
from contacts.services import cancel_task, complete_task, create_task, snooze_task
from contacts.services.reminders import send_due_reminders, send_overdue_digests
from crm.automation import update_automation_settings
from crm.models import AutomationLog, Notification
from tests import factories
from tests.automation import at, notices


def _task(org, *, due, assignee=None, created=None, **fields):
    with org.activate():
        return factories.TaskFactory(
            assignee=(assignee or org.rep).user,
            due_at=due,
            created_at=created or due - timedelta(days=1),
            **fields,
        )


def test_a_reminder_goes_out_at_the_lead_time_and_only_once(org_a, clock, send):
    task = _task(org_a, due=at(2026, 6, 3, 10, 0), title="Call Ada back")
    clock(at(2026, 6, 3, 9, 44))
    assert send(org_a, send_due_reminders, now=at(2026, 6, 3, 9, 44)) == 0
    clock(at(2026, 6, 3, 9, 45))
    assert send(org_a, send_due_reminders, now=at(2026, 6, 3, 9, 45)) == 1
    assert send(org_a, send_due_reminders, now=at(2026, 6, 3, 9, 46)) == 0
    [notice] = notices(org_a, org_a.rep.user, "task_due")
    assert notice.title == "Due Wed 3 Jun, 10:00: Call Ada back"
    assert [m.to for m in mail.outbox] == [["rep@acme.test"]]
    with org_a.activate():
        entry = AutomationLog.objects.get()
    assert (entry.automation, entry.subject_id, entry.window) == (
        "task_reminder",
        task.pk,
        task.due_at,
    )


def test_the_lead_time_is_the_tenants(org_a, clock, send):
    with org_a.activate():
        update_automation_settings(by=org_a.admin.user, reminder_lead_minutes=60)
    _task(org_a, due=at(2026, 6, 3, 10, 0))
    assert send(org_a, send_due_reminders, now=at(2026, 6, 3, 8, 59)) == 0
    assert send(org_a, send_due_reminders, now=at(2026, 6, 3, 9, 0)) == 1


def test_a_snoozed_task_is_reminded_again_at_its_new_time(org_a, clock, send):
    task = _task(org_a, due=at(2026, 6, 3, 10, 0))
    clock(at(2026, 6, 3, 9, 50))
    assert send(org_a, send_due_reminders, now=at(2026, 6, 3, 9, 50)) == 1
    with org_a.activate():
        snooze_task(Task.objects.get(pk=task.pk), until=at(2026, 6, 4, 10, 0), by=org_a.rep.user)
    assert send(org_a, send_due_reminders, now=at(2026, 6, 3, 9, 55)) == 0
    assert send(org_a, send_due_reminders, now=at(2026, 6, 4, 9, 50)) == 1
    assert len(notices(org_a, org_a.rep.user, "task_due")) == 2


def test_done_cancelled_unassigned_and_long_overdue_tasks_are_not_reminded(org_a, clock, send):
    now = at(2026, 6, 3, 10, 0)
    clock(now - timedelta(days=2))
    done, cancelled = _task(org_a, due=now), _task(org_a, due=now)
    with org_a.activate():
        complete_task(done, by=org_a.rep.user)
        cancel_task(cancelled, by=org_a.rep.user)
        factories.TaskFactory(assignee=None, due_at=now, created_at=now - timedelta(days=1))
    _task(org_a, due=now - timedelta(hours=13))  # fell due long ago: the digest covers it
    _task(org_a, due=now - timedelta(hours=1), created=now - timedelta(minutes=30))  # born late
    assert send(org_a, send_due_reminders, now=now) == 0
    with org_a.activate():  # unscoped, PostgreSQL would show none of any tenant's
        assert not Notification.objects.exists()


def test_a_reminder_found_late_is_not_sent_when_the_overdue_digest_lists_the_task(
    org_a, clock, send
):
    """Workers started at 09:00: the task due at 03:00 is in the 08:00 digest already;
    the one due at 08:50 is still reminded (a few minutes late)."""
    now = clock(at(2026, 6, 3, 9, 0))
    _task(org_a, due=at(2026, 6, 3, 3, 0), title="In the night")
    _task(org_a, due=at(2026, 6, 3, 8, 50), title="Just missed")
    assert send(org_a, send_due_reminders, now=now) == 1
    assert send(org_a, send_overdue_digests, now=now) == 1
    assert [n.title for n in notices(org_a, org_a.rep.user, "task_due")] == [
        "Due Wed 3 Jun, 08:50: Just missed"
    ]
    [digest] = notices(org_a, org_a.rep.user, "overdue_digest")
    assert "In the night" in digest.body
    assert send(org_a, send_due_reminders, now=now + timedelta(minutes=1)) == 0


def test_a_task_of_someone_who_left_is_marked_done_without_a_notice(org_a, send):
    task = _task(org_a, due=at(2026, 6, 3, 10, 0))
    with org_a.activate():
        org_a.rep.is_active = False
        org_a.rep.save(update_fields=["is_active"])
    assert send(org_a, send_due_reminders, now=at(2026, 6, 3, 10, 0)) == 0
    with org_a.activate():
        assert AutomationLog.objects.get().subject_id == task.pk
        assert not Notification.objects.exists()


def test_reminders_go_to_the_tenants_own_people_only(org_a, org_b, send):
    now = at(2026, 6, 3, 10, 0)
    _task(org_a, due=now)
    _task(org_b, due=now)
    assert send(org_a, send_due_reminders, now=now) == 1
    assert notices(org_b, org_b.rep.user, "task_due") == []
    assert send(org_b, send_due_reminders, now=now) == 1
    assert [m.to for m in mail.outbox] == [["rep@acme.test"], ["rep@globex.test"]]


def test_a_task_created_through_the_service_is_reminded(org_a, clock, send):
    clock(at(2026, 6, 3, 9, 0))
    with org_a.activate():
        create_task(
            by=org_a.manager.user,
            title="Send the offer",
            due_at=at(2026, 6, 3, 9, 10),
            assignee=org_a.rep.user,
        )
    assert send(org_a, send_due_reminders, now=at(2026, 6, 3, 9, 0)) == 1
    [reminder] = notices(org_a, org_a.rep.user, "task_due")
    assert reminder.title == "Due Wed 3 Jun, 09:10: Send the offer"


def test_a_task_planned_for_oneself_within_the_lead_time_is_not_reminded(org_a, clock, send):
    """They just planned it: a reminder now would tell them of their own action. One
    planned earlier is reminded as usual."""
    clock(at(2026, 6, 2, 17, 0))
    with org_a.activate():
        create_task(by=org_a.rep.user, title="Earlier", due_at=at(2026, 6, 3, 9, 12))
    clock(at(2026, 6, 3, 9, 0))
    with org_a.activate():
        create_task(by=org_a.rep.user, title="Just now", due_at=at(2026, 6, 3, 9, 10))
    assert send(org_a, send_due_reminders, now=at(2026, 6, 3, 9, 0)) == 1
    assert send(org_a, send_due_reminders, now=at(2026, 6, 3, 9, 1)) == 0
    assert [n.title for n in notices(org_a, org_a.rep.user, "task_due")] == [
        "Due Wed 3 Jun, 09:12: Earlier"
    ]
    with org_a.activate():
        skipped = AutomationLog.objects.get(detail__has_key="skipped")
        assert skipped.summary.startswith("Not reminded")
        assert AutomationLog.objects.runs().count() == 1  # METRICS.md automation_runs


def test_reminders_falling_due_together_come_as_one_notice(org_a, clock, send):
    now = clock(at(2026, 6, 3, 9, 0))
    for minutes, title in ((5, "Call Ann"), (10, "Send the offer"), (14, "Book the room")):
        _task(org_a, due=now + timedelta(minutes=minutes), title=title)
    _task(org_a, due=now + timedelta(minutes=5), title="Manager's", assignee=org_a.manager)
    assert send(org_a, send_due_reminders, now=now) == 4
    assert send(org_a, send_due_reminders, now=now + timedelta(minutes=1)) == 0
    [digest] = notices(org_a, org_a.rep.user, "task_due")
    assert digest.title == "3 tasks falling due"
    assert digest.body.splitlines() == [
        "• Wed 3 Jun, 09:05: Call Ann",
        "• Wed 3 Jun, 09:10: Send the offer",
        "• Wed 3 Jun, 09:14: Book the room",
    ]
    assert digest.url == "/acme/"
    [alone] = notices(org_a, org_a.manager.user, "task_due")
    assert alone.title == "Due Wed 3 Jun, 09:05: Manager's"
    assert sorted(m.subject for m in mail.outbox) == [
        "[Acme] 3 tasks falling due",
        "[Acme] Due Wed 3 Jun, 09:05: Manager's",
    ]
    with org_a.activate():
        assert AutomationLog.objects.runs().count() == 4  # one run per task, as before


# The daily digest


def test_the_digest_goes_out_from_eight_in_the_tenants_time_zone_once_a_day(org_a, clock, send):
    _task(org_a, due=at(2026, 6, 1, 12, 0), title="Overdue one")
    _task(org_a, due=at(2026, 6, 2, 12, 0), title="Overdue two")
    _task(org_a, due=at(2026, 6, 9, 12, 0), title="Not yet due")
    _task(org_a, due=at(2026, 6, 1, 12, 0), assignee=org_a.rep2)
    assert send(org_a, send_overdue_digests, now=at(2026, 6, 3, 7, 59)) == 0
    assert send(org_a, send_overdue_digests, now=at(2026, 6, 3, 8, 0)) == 2
    assert send(org_a, send_overdue_digests, now=at(2026, 6, 3, 17, 0)) == 0
    [digest] = notices(org_a, org_a.rep.user, "overdue_digest")
    assert digest.title == "Your day: 2 overdue tasks"
    assert "Overdue one" in digest.body and "Overdue two" in digest.body
    assert "Not yet due" not in digest.body
    assert send(org_a, send_overdue_digests, now=at(2026, 6, 4, 8, 0)) == 2


def test_the_digest_hour_follows_daylight_saving_time(org_a, send):
    _task(org_a, due=at(2026, 3, 20, 12, 0))
    # 06:30 UTC is 07:30 in Berlin on the Saturday, 08:30 on Sunday 29 March (CEST).
    assert send(org_a, send_overdue_digests, now=at(2026, 3, 28, 6, 30, tz=UTC)) == 0
    assert send(org_a, send_overdue_digests, now=at(2026, 3, 29, 5, 59, tz=UTC)) == 0
    assert send(org_a, send_overdue_digests, now=at(2026, 3, 29, 6, 0, tz=UTC)) == 1


def test_the_digest_hour_is_the_tenants(org_a, send):
    with org_a.activate():
        update_automation_settings(by=org_a.admin.user, digest_hour=6)
    _task(org_a, due=at(2026, 6, 1, 12, 0))
    assert send(org_a, send_overdue_digests, now=at(2026, 6, 3, 5, 59)) == 0
    assert send(org_a, send_overdue_digests, now=at(2026, 6, 3, 6, 0)) == 1


def test_a_digest_lists_only_the_members_own_tasks_of_the_tenant(org_a, org_b, send):
    _task(org_a, due=at(2026, 6, 1, 12, 0), title="Acme task")
    _task(org_b, due=at(2026, 6, 1, 12, 0), title="Globex task")
    _task(org_a, due=at(2026, 6, 1, 12, 0), assignee=org_a.rep2, title="Colleague's task")
    send(org_a, send_overdue_digests, now=at(2026, 6, 3, 9, 0))
    [digest] = notices(org_a, org_a.rep.user, "overdue_digest")
    assert "Acme task" in digest.body
    assert "Globex task" not in digest.body and "Colleague's task" not in digest.body
    assert notices(org_b, org_b.rep.user, "overdue_digest") == []
