"""Follow-up reminders: a notice when a task falls due, and a daily digest of overdue tasks.

A task's reminder is due `reminder_lead_minutes` before `due_at` and is sent once per
due time (snoozing the task gives it a new one). Reminders for tasks that fell due more
than `CATCH_UP` ago are not sent late: the overdue digest covers those. The digest goes
to each member with overdue tasks once a day, from the tenant's digest hour in its
time zone.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import F, OuterRef, Q, QuerySet
from django.utils import formats

from contacts.models import Task
from crm.automation import (
    active_member,
    automation_settings,
    local_midnight,
    log_once,
    logged,
    setting_subquery,
    url_for,
)
from crm.models import (
    DEFAULT_DIGEST_HOUR,
    DEFAULT_REMINDER_LEAD_MINUTES,
    Automation,
    NotificationKind,
)
from crm.notifications import DIGEST_LIST, grouped, notification_key, notify
from crm.tenancy import current_tenant

CATCH_UP = timedelta(hours=12)


def _open(tasks: QuerySet) -> QuerySet:
    return tasks.filter(done_at__isnull=True, cancelled_at__isnull=True, assignee__isnull=False)


def due_reminders(tasks: QuerySet, *, now: datetime, leads: Iterable[int]) -> QuerySet:
    """Open, assigned tasks whose reminder is due at `now` and was not sent.

    `tasks` is `Task.objects` (one tenant) or `Task.unscoped` (a scan); `leads` lists
    the lead times (minutes) the tenants concerned use.
    """
    when = Q()
    for minutes in sorted(set(leads)):
        when |= Q(lead_minutes=minutes, due_at__lte=now + timedelta(minutes=minutes))
    return (
        _open(tasks)
        .annotate(
            lead_minutes=setting_subquery("reminder_lead_minutes", DEFAULT_REMINDER_LEAD_MINUTES)
        )
        .filter(when, due_at__gt=now - CATCH_UP, due_at__gte=F("created_at"))
        .exclude(
            logged(
                Automation.TASK_REMINDER,
                "contacts.task",
                subject=OuterRef("pk"),
                window=OuterRef("due_at"),
            )
        )
    )


def send_due_reminders(*, now: datetime) -> int:
    """Remind each assignee of their tasks falling due (current tenant); returns how many.

    A task whose assignee has left, which its assignee added for themselves within the
    lead time, or which fell due before today's digest hour (found late, after an
    outage: the overdue digest lists it) is marked done for this due time without a
    notice (and is no run).
    """
    settings = automation_settings()
    tz = current_tenant().tz
    digest_at = local_midnight(now.astimezone(tz).date(), tz) + timedelta(
        hours=settings.digest_hour
    )
    lead = timedelta(minutes=settings.reminder_lead_minutes)
    sent = 0
    tasks = due_reminders(
        Task.objects.all(), now=now, leads=[settings.reminder_lead_minutes]
    ).select_related("contact", "organization", "created_by")
    with grouped():
        for task in tasks.order_by("due_at", "pk"):
            in_digest = now >= digest_at and task.due_at < digest_at
            sent += _remind(task, tz=tz, lead=lead, in_digest=in_digest)
    return sent


def _remind(task: Task, *, tz, lead: timedelta, in_digest: bool) -> int:
    assignee = active_member(task.assignee_id)
    # Planned by hand inside the lead time: the reminder would tell them what they just
    # did, so they are its actor (notify sends nothing to the actor).
    actor = (
        task.created_by
        if task.source == Task.Source.MANUAL and task.created_at > task.due_at - lead
        else None
    )
    own = assignee is not None and actor is not None and actor.pk == assignee.pk
    skipped = own or in_digest
    when = formats.date_format(task.due_at.astimezone(tz), "D j M, H:i")
    if assignee is None:
        summary = f"Nobody reminded (assignee left): {task.title}"
    elif own:
        summary = f"Not reminded ({assignee} planned it within the lead time): {task.title}"
    elif in_digest:
        summary = f"Not reminded (overdue, in {assignee}'s digest): {task.title}"
    else:
        summary = f"Reminded {assignee}: {task.title}"
    entry = log_once(
        automation=Automation.TASK_REMINDER,
        subject=task,
        window=task.due_at,
        user=assignee,
        summary=summary,
        url=_task_url(task),
        detail={"skipped": True} if skipped else None,
    )
    if entry is None or assignee is None or skipped:
        return 0
    about = task.contact or task.organization
    notify(
        recipient=assignee,
        kind=NotificationKind.TASK_DUE,
        key=notification_key("task_due", f"task-{task.pk}", "due", task.due_at.isoformat()),
        title=f"Due {when}: {task.title}",
        body=f"{task.title}\nDue {when}" + (f"\nFor {about}" if about else ""),
        url=entry.url,
        actor=actor,
        line=f"{when}: {task.title}" + (f" ({about})" if about else ""),
        digest_url=url_for("home"),
    )
    return 1


def _task_url(task: Task) -> str:
    if task.contact_id:
        return url_for("contacts:contact-detail", task.contact_id)
    if task.organization_id:
        return url_for("contacts:organization-detail", task.organization_id)
    return url_for("home")


# The daily digest


def due_digests(tasks: QuerySet, *, now: datetime, zones: Iterable[str]) -> QuerySet:
    """Overdue open tasks whose assignee's digest for today is due and not yet sent.

    `zones` lists the time zones of the tenants concerned: the day and the hour are
    theirs.
    """
    when = Q()
    for zone in sorted(set(zones)):
        local = now.astimezone(zoneinfo.ZoneInfo(zone))
        day = local_midnight(local.date(), zoneinfo.ZoneInfo(zone))
        when |= Q(tenant__time_zone=zone, digest_hour__lte=local.hour) & ~logged(
            Automation.OVERDUE_DIGEST, "crm.user", subject=OuterRef("assignee_id"), window=day
        )
    return (
        _open(tasks)
        .annotate(digest_hour=setting_subquery("digest_hour", DEFAULT_DIGEST_HOUR))
        .filter(when, due_at__lt=now)
    )


def send_overdue_digests(*, now: datetime) -> int:
    """Send today's digest to each member with overdue tasks (current tenant), once."""
    tenant = current_tenant()
    tz = tenant.tz
    day = local_midnight(now.astimezone(tz).date(), tz)
    by_assignee: dict[int, list[Task]] = defaultdict(list)
    for task in due_digests(Task.objects.all(), now=now, zones=[tenant.time_zone]).order_by(
        "due_at", "pk"
    ):
        by_assignee[task.assignee_id].append(task)
    sent = 0
    for assignee_id, tasks in by_assignee.items():
        assignee = active_member(assignee_id)
        count = len(tasks)
        title = f"{count} overdue task{'s' if count != 1 else ''}"
        entry = log_once(
            automation=Automation.OVERDUE_DIGEST,
            kind="crm.user",
            subject_id=assignee_id,
            window=day,
            user=assignee,
            summary=f"Digest for {assignee or 'a former member'}: {title}",
            url=url_for("home"),
            detail={"tasks": count},
        )
        if entry is None or assignee is None:
            continue
        lines = [
            f"- {t.title} (due {formats.date_format(t.due_at.astimezone(tz), 'D j M')})"
            for t in tasks[:DIGEST_LIST]
        ]
        if count > DIGEST_LIST:
            lines.append(f"… and {count - DIGEST_LIST} more")
        notify(
            recipient=assignee,
            kind=NotificationKind.OVERDUE_DIGEST,
            key=notification_key(
                "overdue_digest", f"user-{assignee_id}", "", day.date().isoformat()
            ),
            title=f"Your day: {title}",
            body="\n".join(["These tasks are past their due date:", *lines]),
            url=entry.url,
        )
        sent += 1
    return sent
