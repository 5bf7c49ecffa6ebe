"""Reads that are more than a one-line query: lists, My day; search (contacts.search)."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Lower

from contacts.models import Activity, Contact, Organization, RecentRecord, SearchTerm, Task

# Global search lives in its own module; the views read it from here with the other reads.
from contacts.search import SearchResults, fold, search  # noqa: F401
from crm.models import Membership, User


def member_users(*, active_only: bool = True) -> QuerySet[User]:
    """The users with a membership in the current tenant (active ones unless told)."""
    memberships = Membership.objects.all()
    if active_only:
        memberships = memberships.filter(is_active=True)
    return User.objects.filter(pk__in=memberships.values("user_id")).order_by("full_name", "email")


def member_choices(*, active_only: bool = True) -> list[tuple[int, str]]:
    """(id, name) of the members, for filter bars: three columns instead of 200 User
    instances, which the board, deal list and forecast built on every request."""
    rows = member_users(active_only=active_only).values_list("pk", "full_name", "email")
    return [(pk, User.label(name, email)) for pk, name, email in rows]


def contacts_by_email(emails: set[str]) -> QuerySet[Contact]:
    """The live contacts whose e-mail is one of `emails` (lower-case), in any case.

    On PostgreSQL the candidates come from `SearchTerm`, which holds each e-mail lower-cased:
    `lower(email) IN (…)` is not leakproof, so under row security it cannot use the
    (tenant, lower(email)) index and read every contact of the tenant (~200 ms per
    2,000-row import chunk at 300,000 contacts; bench/NOTES.md). Two queries."""
    found = (
        Contact.objects.live()
        .exclude(email="")
        .alias(lower_email=Lower("email"))
        .filter(lower_email__in=emails)
    )
    if connection.vendor == "postgresql":
        # Terms are folded (no accents) and cut at 200 characters, as search writes them.
        terms = SearchTerm.objects.filter(
            term__in={fold(e)[:200] for e in emails}, contact__isnull=False
        )
        # The ids as a list, not a subquery: the planner then reads them by primary key
        # instead of hashing a scan of every contact.
        found = found.filter(pk__in=list(terms.values_list("contact_id", flat=True)))
    return found


def _open_tasks() -> QuerySet[Task]:
    return Task.objects.filter(done_at__isnull=True, cancelled_at__isnull=True)


def contact_list() -> QuerySet[Contact]:
    """Live contacts with what a list row shows, in one query."""
    return (
        Contact.objects.live()
        .select_related("organization", "owner")
        .annotate(has_open_task=Exists(_open_tasks().filter(contact=OuterRef("pk"))))
    )


def organization_list() -> QuerySet[Organization]:
    live_contacts = Contact.objects.live().filter(organization=OuterRef("pk"))
    return (
        Organization.objects.live()
        .select_related("owner")
        .annotate(
            has_open_task=Exists(_open_tasks().filter(organization=OuterRef("pk"))),
            contact_count=_count(live_contacts),
        )
    )


def _count(queryset: QuerySet) -> Coalesce:
    counted = queryset.order_by().values("organization").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def open_tasks_of(record: Contact | Organization) -> QuerySet[Task]:
    link = Q(contact=record) if isinstance(record, Contact) else Q(organization=record)
    return _open_tasks().filter(link).select_related("assignee", "contact", "organization")


def last_activity_at(record: Contact | Organization) -> datetime | None:
    link = Q(contact=record) if isinstance(record, Contact) else Q(organization=record)
    return Activity.objects.filter(link).aggregate(at=Max("occurred_at"))["at"]


def organization_contacts(organization: Organization, *, limit: int = 50) -> QuerySet[Contact]:
    return (
        Contact.objects.live()
        .filter(organization=organization)
        .select_related("owner")
        .order_by("last_name", "first_name")[:limit]
    )


# My day


@dataclass(frozen=True)
class MyDay:
    overdue: list[Task]
    today: list[Task]
    upcoming: list[Task]
    recent: list[RecentRecord]
    done_today: int


def my_day(user: User, *, now: datetime, tz: zoneinfo.ZoneInfo, upcoming_days: int = 7) -> MyDay:
    """The member's open tasks (overdue, due today, the next days) and recent records.

    "Today" is the tenant's calendar day. Four queries, whatever the number of tasks.
    """
    local = now.astimezone(tz)
    start = datetime.combine(local.date(), time.min, tzinfo=tz)
    end = start + timedelta(days=1)
    horizon = start + timedelta(days=upcoming_days + 1)
    tasks = list(
        _open_tasks()
        .filter(assignee=user, due_at__lt=horizon)
        .select_related("contact", "organization")
        .order_by("due_at", "id")[:300]
    )
    recent = list(
        RecentRecord.objects.filter(user=user)
        .filter(
            Q(
                contact__merged_into__isnull=True,
                contact__erased_at__isnull=True,
                contact__isnull=False,
            )
            | Q(
                organization__merged_into__isnull=True,
                organization__erased_at__isnull=True,
                organization__isnull=False,
            )
        )
        .select_related("contact__organization", "organization")
        .order_by("-touched_at")[:8]
    )
    done_today = Task.objects.filter(assignee=user, done_at__gte=start, done_at__lt=end).count()
    return MyDay(
        overdue=[t for t in tasks if t.due_at < now],
        today=[t for t in tasks if now <= t.due_at < end],
        upcoming=[t for t in tasks if t.due_at >= end],
        recent=recent,
        done_today=done_today,
    )
