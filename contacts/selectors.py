"""Reads that are more than a one-line query: lists, My day, search."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Greatest, Lower

from contacts.models import Activity, Contact, Organization, RecentRecord, SearchTerm, Task
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
        terms = SearchTerm.objects.filter(
            term__in={e[:200] for e in emails}, contact__isnull=False
        )  # terms are cut at 200 characters
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


# Search


@dataclass(frozen=True)
class SearchResults:
    query: str
    contacts: list[Contact]
    organizations: list[Organization]

    @property
    def empty(self) -> bool:
        return not self.contacts and not self.organizations


def _terms(query: str) -> list[str]:
    return [t for t in query.split() if t][:5]


def search(query: str, *, limit: int = 8) -> SearchResults:
    """Contacts by name and e-mail, organizations by name and domain, best match first.

    Every word must begin a word of the record (or its whole e-mail, domain or name), in
    any case: "jan sch" finds Jane Schmidt, "acme-ind" acme-industries.com. Ranking
    favours an exact match, then a prefix; on PostgreSQL trigram similarity also ranks,
    and a single word also finds similar spellings that begin with the same two letters
    ("Jansen" for "Janssen").

    On PostgreSQL the words come from `SearchTerm` (kept by triggers): a prefix range is
    an index scan even under row security, where LIKE would scan every row of the tenant
    (bench/NOTES.md). Two queries (four with near-misses), whatever the size.
    """
    query = " ".join(_terms(query.strip()))[:100]
    if len(query) < 2:
        return SearchResults(query, [], [])
    return SearchResults(query, _search_contacts(query, limit), _search_organizations(query, limit))


def _all_terms(field: str, fields: list[str], terms: list[str]) -> Q:
    """Every term begins a search term of the record (PostgreSQL); elsewhere, every term is
    a substring of one of `fields`."""
    condition = Q()
    for term in terms:
        if connection.vendor == "postgresql":
            condition &= Q(pk__in=_records_with_word(field, _prefix_range(term.lower())))
            continue
        any_field = Q()
        for name in fields:
            any_field |= Q(**{f"{name}__icontains": term})
        condition &= any_field
    return condition


def _prefix_range(prefix: str) -> Q:
    """Terms that start with `prefix`: [prefix, its successor) in the "C" collation."""
    prefix = prefix[:200]
    successor = prefix[:-1] + chr(min(ord(prefix[-1]) + 1, 0x10FFFF))
    return Q(term__gte=prefix, term__lt=successor)


def _records_with_word(field: str, words: Q) -> QuerySet:
    return SearchTerm.objects.filter(words, **{f"{field}__isnull": False}).values(field)


# A near-miss is a courtesy: the trigram test (no index under row security) runs on at
# most this many terms beginning with the word's first two letters.
NEAR_MISS_CANDIDATES = 5000


def _near_misses(field: str, word: str) -> Q:
    """Records with a word similar to `word` and beginning with the same two letters."""
    from django.contrib.postgres.lookups import TrigramSimilar

    word = word.lower()[:200]
    candidates = SearchTerm.objects.filter(_prefix_range(word[:2]), **{f"{field}__isnull": False})
    similar = Q(pk__in=candidates.values("pk")[:NEAR_MISS_CANDIDATES])
    return Q(pk__in=_records_with_word(field, similar & Q(TrigramSimilar(F("term"), word))))


def _prefix_score(expression, query: str, weight: float) -> Case:
    q = query.lower()
    return Case(
        When(**{f"{expression}__exact": q}, then=Value(weight * 3)),
        When(**{f"{expression}__startswith": q}, then=Value(weight * 2)),
        When(**{f"{expression}__contains": q}, then=Value(weight)),
        default=Value(0.0),
        output_field=FloatField(),
    )


def _best(qs: QuerySet, words: Q, fuzzy: Q | None, rank, order: list, limit: int) -> list:
    """The best `limit` matches: word matches first, then near-misses while the list has
    room. A word match always outranks a near-miss (its prefix score, 2 or more, exceeds
    any similarity, at most 1), so this is the order one query over both would give; two
    queries keep each an index lookup (an OR of the two would scan the tenant's rows)."""
    ranked = qs.annotate(rank=rank).order_by(*order)
    found = list(ranked.filter(words)[:limit])
    if fuzzy is not None and len(found) < limit:
        others = ranked.filter(fuzzy).exclude(pk__in=[r.pk for r in found])
        found += list(others[: limit - len(found)])
    return found


def _search_contacts(query: str, limit: int) -> list[Contact]:
    terms = _terms(query)
    condition = _all_terms("contact", ["first_name", "last_name", "email"], terms)
    fuzzy = None
    qs = Contact.objects.live().annotate(
        s_full=Lower(Concat("first_name", Value(" "), "last_name")),
        s_last=Lower("last_name"),
        s_email=Lower("email"),
    )
    rank = (
        _prefix_score("s_full", query, 3)
        + _prefix_score("s_last", query, 2)
        + _prefix_score("s_email", query, 2)
    )
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity

        if len(terms) == 1:
            fuzzy = _near_misses("contact", query)
        rank = rank + Greatest(
            TrigramWordSimilarity(query.lower(), "s_full"),
            TrigramSimilarity("s_email", query.lower()),
        )
    order = ["-rank", "last_name", "first_name", "pk"]
    return _best(qs.select_related("organization"), condition, fuzzy, rank, order, limit)


def _search_organizations(query: str, limit: int) -> list[Organization]:
    terms = _terms(query)
    condition = _all_terms("organization", ["name", "domain"], terms)
    fuzzy = None
    qs = Organization.objects.live().annotate(s_name=Lower("name"), s_domain=F("domain"))
    rank = _prefix_score("s_name", query, 3) + _prefix_score("s_domain", query, 2)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import TrigramWordSimilarity

        if len(terms) == 1:
            fuzzy = _near_misses("organization", query)
        rank = rank + TrigramWordSimilarity(query.lower(), "s_name")
    return _best(qs, condition, fuzzy, rank, ["-rank", "name", "pk"], limit)
