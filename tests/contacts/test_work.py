"""Services for activities and tasks."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts import services
from contacts.models import Activity, RecentRecord, Task
from contacts.services.work import snooze_target
from crm.models import AuditEvent
from tests import factories


def test_log_activity_files_a_contacts_activity_under_its_organization(tenant_a):
    org = factories.OrganizationFactory()
    contact = factories.ContactFactory(organization=org)
    activity = services.log_activity(
        by=tenant_a.rep.user,
        kind="call",
        subject="Intro call",
        contact=contact,
        duration_minutes=15,
        outcome="connected",
    )
    assert activity.organization == org
    assert activity.logged_by == tenant_a.rep.user
    assert AuditEvent.objects.filter(verb="activity.logged", target_id=activity.pk).exists()
    assert RecentRecord.objects.filter(user=tenant_a.rep.user, contact=contact).exists()


def test_log_activity_needs_a_linked_record(tenant_a):
    with pytest.raises(ValidationError):
        services.log_activity(by=tenant_a.rep.user, kind="note", subject="Orphan")
    assert Activity.objects.count() == 0


def test_log_activity_refuses_the_future(tenant_a):
    contact = factories.ContactFactory()
    with pytest.raises(ValidationError) as exc:
        services.log_activity(
            by=tenant_a.rep.user,
            kind="meeting",
            subject="Next week",
            contact=contact,
            occurred_at=timezone.now() + timedelta(days=2),
        )
    assert "occurred_at" in exc.value.message_dict


def test_log_activity_refuses_an_outcome_that_does_not_fit_the_kind(tenant_a):
    contact = factories.ContactFactory()
    with pytest.raises(ValidationError):
        services.log_activity(
            by=tenant_a.rep.user, kind="call", subject="x", contact=contact, outcome="no_show"
        )
    with pytest.raises(ValidationError):
        services.log_activity(
            by=tenant_a.rep.user, kind="note", subject="x", contact=contact, duration_minutes=5
        )
    assert Activity.objects.count() == 0


def test_log_activity_refuses_a_contact_of_another_tenant(org_a, org_b):
    with org_b.activate():
        foreign = factories.ContactFactory()
    with org_a.activate():
        with pytest.raises(ValidationError) as exc:
            services.log_activity(by=org_a.rep.user, kind="note", subject="x", contact=foreign)
        assert "contact" in exc.value.message_dict
        assert Activity.objects.count() == 0


def test_log_activity_refuses_too_long_text(tenant_a):
    contact = factories.ContactFactory()
    with pytest.raises(ValidationError) as exc:
        services.log_activity(by=tenant_a.rep.user, kind="note", subject="s" * 201, contact=contact)
    assert "subject" in exc.value.message_dict


def test_update_and_delete_activity_are_audited(tenant_a):
    activity = factories.ActivityFactory(subject="Old", logged_by=tenant_a.rep.user)
    services.update_activity(activity, by=tenant_a.rep.user, subject="New")
    assert AuditEvent.objects.get(verb="activity.updated").changes == {"subject": ["Old", "New"]}
    services.delete_activity(activity, by=tenant_a.rep.user)
    assert Activity.objects.count() == 0
    assert AuditEvent.objects.get(verb="activity.deleted").changes["subject"] == ["New", None]


# Tasks


def test_create_task_assigns_the_creator_by_default(tenant_a):
    contact = factories.ContactFactory(organization=factories.OrganizationFactory())
    task = services.create_task(by=tenant_a.rep.user, title="Send proposal", contact=contact)
    assert task.assignee == tenant_a.rep.user
    assert task.organization == contact.organization
    assert task.source == Task.Source.MANUAL
    assert task.is_open


def test_create_task_refuses_an_assignee_of_another_tenant(org_a, org_b):
    with org_a.activate():
        with pytest.raises(ValidationError) as exc:
            services.create_task(by=org_a.rep.user, title="x", assignee=org_b.rep.user)
        assert "assignee" in exc.value.message_dict
        assert Task.objects.count() == 0


def test_create_task_refuses_a_deactivated_member(tenant_a):
    tenant_a.rep2.is_active = False
    tenant_a.rep2.save()
    with pytest.raises(ValidationError):
        services.create_task(by=tenant_a.rep.user, title="x", assignee=tenant_a.rep2.user)


def test_create_task_with_a_source_key_creates_it_once(tenant_a):
    first = services.create_task(
        by=None, title="Day 3", assignee=tenant_a.rep.user, source="cadence", source_key="c:1:3"
    )
    again = services.create_task(
        by=None, title="Day 3", assignee=tenant_a.rep.user, source="cadence", source_key="c:1:3"
    )
    assert first.pk == again.pk
    assert Task.objects.count() == 1


def test_complete_then_reopen_a_task(tenant_a):
    task = factories.TaskFactory(assignee=tenant_a.rep.user)
    services.complete_task(task, by=tenant_a.rep.user)
    assert task.done_at is not None and task.done_by == tenant_a.rep.user
    assert not task.is_open
    services.complete_task(task, by=tenant_a.rep.user)
    assert AuditEvent.objects.filter(verb="task.completed").count() == 1
    services.reopen_task(task, by=tenant_a.rep.user)
    task.refresh_from_db()
    assert task.is_open and task.done_at is None


def test_a_cancelled_task_is_neither_open_nor_done(tenant_a):
    task = factories.TaskFactory(assignee=tenant_a.rep.user)
    services.cancel_task(task, by=tenant_a.rep.user)
    task.refresh_from_db()
    assert not task.is_open and task.done_at is None and task.cancelled_at is not None
    with pytest.raises(ValidationError):
        services.complete_task(task, by=tenant_a.rep.user)


def test_snooze_moves_the_due_date_and_refuses_the_past(tenant_a):
    task = factories.TaskFactory(assignee=tenant_a.rep.user)
    later = timezone.now() + timedelta(days=1)
    services.snooze_task(task, until=later, by=tenant_a.rep.user)
    task.refresh_from_db()
    assert task.due_at == later
    with pytest.raises(ValidationError):
        services.snooze_task(task, until=timezone.now() - timedelta(hours=1), by=tenant_a.rep.user)
    services.complete_task(task, by=tenant_a.rep.user)
    with pytest.raises(ValidationError):
        services.snooze_task(task, until=later + timedelta(days=1), by=tenant_a.rep.user)


def test_snooze_targets_keep_the_time_of_day_in_the_tenants_zone():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    # Wednesday 2026-03-04, 23:30 in Berlin (22:30 UTC)
    now = datetime(2026, 3, 4, 22, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    due = datetime(2026, 3, 4, 14, 0, tzinfo=berlin)
    assert snooze_target("tomorrow", due_at=due, now=now, tz=berlin) == datetime(
        2026, 3, 5, 14, 0, tzinfo=berlin
    )
    assert snooze_target("next_week", due_at=None, now=now, tz=berlin) == datetime(
        2026, 3, 9, 9, 0, tzinfo=berlin
    )


def test_update_task_records_changes(tenant_a):
    task = factories.TaskFactory(assignee=tenant_a.rep.user, title="Old")
    services.update_task(task, by=tenant_a.rep.user, title="New", assignee=tenant_a.rep2.user)
    task.refresh_from_db()
    assert (task.title, task.assignee) == ("New", tenant_a.rep2.user)
    assert AuditEvent.objects.get(verb="task.updated").changes["title"] == ["Old", "New"]


def test_recently_touched_is_one_row_per_member_and_record(tenant_a):
    contact = factories.ContactFactory()
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        services.touch_record(contact, by=tenant_a.rep.user)
    first = RecentRecord.objects.get().touched_at
    services.touch_record(contact, by=tenant_a.rep.user)
    assert RecentRecord.objects.count() == 1
    assert RecentRecord.objects.get().touched_at > first
