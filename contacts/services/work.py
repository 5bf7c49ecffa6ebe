"""Activities (what happened) and tasks (what happens next)."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Activity, Contact, Organization, Task
from contacts.services.common import (
    clean_model,
    require_member,
    require_same_tenant,
    snapshot,
)
from contacts.services.personal import touch_record
from crm.audit import diff, record_event
from crm.models import User
from crm.outbox import publish
from crm.tenancy import current_tenant
from crm.updates import update_record

ACTIVITY_FIELDS = [
    "kind", "subject", "body", "occurred_at", "duration_minutes", "outcome", "contact", "organization",
]  # fmt: skip
TASK_FIELDS = ["title", "notes", "due_at", "assignee", "contact", "organization"]
# An activity records what happened; what lies ahead is a task. A little slack for clocks.
FUTURE_SLACK = timedelta(minutes=15)
_UNCHECKED = ["tenant", "contact", "organization", "logged_by", "assignee", "created_by", "done_by"]


# Activities


def _prepare_activity(activity: Activity, *, before: dict[str, Any]) -> None:
    activity.subject = activity.subject.strip()
    if activity.contact_id != before.get("contact"):
        require_same_tenant(activity.contact, field="contact")
    if activity.organization_id != before.get("organization"):
        require_same_tenant(activity.organization, field="organization")
    if activity.contact is None and activity.organization is None:
        raise ValidationError("Link the activity to a contact or an organization.")
    if activity.occurred_at and activity.occurred_at > timezone.now() + FUTURE_SLACK:
        raise ValidationError(
            {"occurred_at": "An activity records what happened; plan what is ahead as a task."}
        )
    outcomes = Activity.OUTCOMES_BY_KIND.get(activity.kind)
    if outcomes is None:
        if activity.outcome or activity.duration_minutes is not None:
            kind = activity.get_kind_display()
            raise ValidationError(f"{kind}s have no duration or outcome; remove them.")
    elif activity.outcome and activity.outcome not in outcomes:
        raise ValidationError(
            {"outcome": f"Not an outcome of a {activity.get_kind_display().lower()}."}
        )
    clean_model(activity, skip=_UNCHECKED)


def log_activity(
    *,
    by: User,
    kind: str,
    subject: str,
    contact: Contact | None = None,
    organization: Organization | None = None,
    occurred_at: datetime | None = None,
    body: str = "",
    duration_minutes: int | None = None,
    outcome: str = "",
    captured: bool = False,
    inbound: bool = False,
) -> Activity:
    """Record a call, e-mail, meeting or note on a contact and/or organization.

    An activity on a contact is also filed under the contact's organization at that
    moment. Refuses an activity linked to nothing, in the future, or with an outcome
    that does not fit its kind. A `captured` one (mail capture) is not something `by`
    opened, so it does not count among their recent records.
    """
    if contact is not None and organization is None:
        organization = contact.organization
    activity = Activity(
        tenant=current_tenant(),
        kind=kind,
        subject=subject,
        body=body,
        occurred_at=occurred_at or timezone.now(),
        duration_minutes=duration_minutes,
        outcome=outcome,
        contact=contact,
        organization=organization,
        logged_by=by,
        captured=captured,
        inbound=inbound,
    )
    _prepare_activity(activity, before={})
    with transaction.atomic():
        activity.save()
        record_event(
            actor=by,
            verb="activity.logged",
            target=activity,
            changes=diff({}, snapshot(activity, ACTIVITY_FIELDS)),
        )
        for record in (contact, organization):
            if record is not None and not captured:
                touch_record(record, by=by)
    return activity


def update_activity(activity: Activity, *, by: User, **fields: Any) -> Activity:
    """Correct a logged activity; the links to records stay as they are."""
    update_record(
        activity,
        fields,
        by=by,
        verb="activity.updated",
        tracked=ACTIVITY_FIELDS,
        editable=set(ACTIVITY_FIELDS) - {"contact", "organization"},
        prepare=_prepare_activity,
    )
    return activity


def delete_activity(activity: Activity, *, by: User) -> None:
    """Remove an activity logged by mistake; the audit trail keeps what it said."""
    with transaction.atomic():
        record_event(
            actor=by,
            verb="activity.deleted",
            target=activity,
            changes={k: [v, None] for k, v in snapshot(activity, ACTIVITY_FIELDS).items()},
        )
        activity.delete()


# Tasks


def _prepare_task(task: Task, *, before: dict[str, Any]) -> None:
    task.title = task.title.strip()
    if task.assignee_id != before.get("assignee"):
        require_member(task.assignee, field="assignee", required=True)
    if task.contact_id != before.get("contact"):
        require_same_tenant(task.contact, field="contact")
    if task.organization_id != before.get("organization"):
        require_same_tenant(task.organization, field="organization")
    clean_model(task, skip=_UNCHECKED)


def create_task(
    *,
    by: User | None,
    title: str,
    assignee: User | None = None,
    due_at: datetime | None = None,
    contact: Contact | None = None,
    organization: Organization | None = None,
    notes: str = "",
    source: str = Task.Source.MANUAL,
    source_key: str = "",
) -> Task:
    """Plan a next action, assigned to `assignee` (by default whoever creates it).

    With a `source_key` (automations, cadences) the task is created at most once: a second
    call returns the existing task. Refuses an assignee who is not an active member.
    `by` is None when the system creates it.
    """
    if source_key:
        existing = Task.objects.filter(source_key=source_key).first()
        if existing is not None:
            return existing
    if contact is not None and organization is None:
        organization = contact.organization
    task = Task(
        tenant=current_tenant(),
        title=title,
        notes=notes,
        due_at=due_at,
        assignee=assignee or by,
        contact=contact,
        organization=organization,
        source=source,
        source_key=source_key,
        created_by=by,
    )
    _prepare_task(task, before={})
    try:
        with transaction.atomic():
            task.save()
            record_event(
                actor=by,
                verb="task.created",
                target=task,
                changes=diff({}, snapshot(task, [*TASK_FIELDS, "source"])),
            )
    except IntegrityError:
        if not source_key:
            raise
        return Task.objects.get(source_key=source_key)  # a concurrent call created it first
    return task


def update_task(task: Task, *, by: User, **fields: Any) -> Task:
    """Change a task's title, notes, due date, assignee or links."""
    update_record(
        task, fields, by=by, verb="task.updated", tracked=TASK_FIELDS, prepare=_prepare_task
    )
    return task


def _require_open(task: Task) -> None:
    if task.cancelled_at is not None:
        raise ValidationError("This task was cancelled; reopen it first.")


def complete_task(task: Task, *, by: User) -> Task:
    """Mark a task done now. Doing it twice changes nothing; a cancelled task is refused."""
    if task.done_at is not None:
        return task
    _require_open(task)
    task.done_at, task.done_by, task.updated_at = timezone.now(), by, timezone.now()
    with transaction.atomic():
        task.save(update_fields=["done_at", "done_by", "updated_at"])
        record_event(actor=by, verb="task.completed", target=task)
        publish("task.completed", target=task, actor=by)
    return task


def cancel_task(task: Task, *, by: User) -> Task:
    """Drop a task that is no longer needed (it then counts as neither open nor done)."""
    if task.cancelled_at is not None:
        return task
    if task.done_at is not None:
        raise ValidationError("This task is already done.")
    task.cancelled_at, task.updated_at = timezone.now(), timezone.now()
    with transaction.atomic():
        task.save(update_fields=["cancelled_at", "updated_at"])
        record_event(actor=by, verb="task.cancelled", target=task)
    return task


def reopen_task(task: Task, *, by: User) -> Task:
    """Undo done or cancelled: the task is open again."""
    if task.is_open:
        return task
    before = {"done_at": task.done_at, "cancelled_at": task.cancelled_at}
    task.done_at = task.done_by = task.cancelled_at = None
    task.updated_at = timezone.now()
    with transaction.atomic():
        task.save(update_fields=["done_at", "done_by", "cancelled_at", "updated_at"])
        record_event(
            actor=by,
            verb="task.reopened",
            target=task,
            changes={k: [v.isoformat() if v else None, None] for k, v in before.items()},
        )
    return task


def snooze_task(task: Task, *, until: datetime, by: User) -> Task:
    """Move an open task's due date later. Refuses a date in the past or a closed task."""
    if not task.is_open:
        raise ValidationError("Only open tasks can be snoozed.")
    if until <= timezone.now():
        raise ValidationError({"due_at": "Snooze to a moment in the future."})
    old = task.due_at
    task.due_at, task.updated_at = until, timezone.now()
    with transaction.atomic():
        task.save(update_fields=["due_at", "updated_at"])
        record_event(
            actor=by,
            verb="task.snoozed",
            target=task,
            changes={"due_at": [old.isoformat() if old else None, until.isoformat()]},
        )
    return task


SNOOZE_OPTIONS = {"tomorrow": "Tomorrow", "next_week": "Next week"}


def snooze_target(
    option: str, *, due_at: datetime | None, now: datetime, tz: zoneinfo.ZoneInfo
) -> datetime:
    """When "tomorrow" or "next week" (Monday) is, keeping the task's time of day (else 9:00)."""
    local_now = now.astimezone(tz)
    clock = due_at.astimezone(tz).time() if due_at else time(9, 0)
    if option == "tomorrow":
        day = local_now.date() + timedelta(days=1)
    elif option == "next_week":
        day = local_now.date() + timedelta(days=7 - local_now.weekday())
    else:
        raise ValidationError(f"Unknown snooze option “{option}”.")
    return datetime.combine(day, clock, tzinfo=tz)
