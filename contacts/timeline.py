"""The timeline of a contact or organization, and the hooks later apps plug into.

Apps to the right of contacts (pipeline: deals and stage changes; governance: consent)
cannot be imported here, so they register themselves from their AppConfig.ready():

    from contacts.timeline import register_timeline_provider, register_panel
    register_timeline_provider(deal_entries)        # fn(record, *, before, limit) -> [Entry]
    register_panel("contact-detail", deals_panel)    # fn(request, record) -> Panel | None

A provider returns at most `limit + 1` entries older than `before`, newest first, in a
bounded number of queries; the timeline merges every provider's entries.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from contacts.models import Activity, Contact, Organization, Task

PAGE_SIZE = 25


@dataclass(frozen=True)
class Entry:
    at: datetime
    key: str  # unique across providers: "activity:12"
    kind: str  # drives the icon: call, email, meeting, note, task, deal, stage…
    obj: Any
    template: str  # renders the entry; receives `entry` and `record`


@dataclass(frozen=True)
class Panel:
    """A box on a record page or on My day, contributed by another app."""

    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Entry]
    next_before: datetime | None  # pass as `before` for the next (older) page


Provider = Callable[..., list[Entry]]
PanelFactory = Callable[[HttpRequest, Any], Panel | None]
_providers: list[Provider] = []
_panels: dict[str, list[PanelFactory]] = {}
PANEL_PLACES = {"contact-detail", "organization-detail", "deal-detail", "my-day"}


def register_timeline_provider(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def register_panel(place: str, factory: PanelFactory) -> PanelFactory:
    if place not in PANEL_PLACES:
        raise ValueError(f"Unknown panel place {place!r}; use one of {sorted(PANEL_PLACES)}")
    if factory not in _panels.setdefault(place, []):
        _panels[place].append(factory)
    return factory


def panels(place: str, request: HttpRequest, record: Any = None) -> list[Panel]:
    found = (factory(request, record) for factory in _panels.get(place, []))
    return [panel for panel in found if panel is not None]


def timeline(
    record: Contact | Organization, *, before: datetime | None = None, limit: int = PAGE_SIZE
) -> TimelinePage:
    """Everything that happened to the record, newest first, one page at a time."""
    streams = [provider(record, before=before, limit=limit) for provider in _providers]
    merged = list(heapq.merge(*streams, key=lambda e: (e.at, e.key), reverse=True))
    page = merged[:limit]
    more = len(merged) > limit
    return TimelinePage(entries=page, next_before=page[-1].at if more and page else None)


def _activity_filter(record: Contact | Organization) -> Q:
    if isinstance(record, Contact):
        return Q(contact=record)
    # An organization's history includes its contacts' activities filed before they joined.
    return Q(organization=record) | Q(
        contact__in=Contact.objects.filter(organization=record).values("pk")
    )


def activity_entries(
    record: Contact | Organization, *, before: datetime | None, limit: int
) -> list[Entry]:
    # Captured mail and meetings are shown by mail's provider, with their thread.
    activities = Activity.objects.filter(_activity_filter(record), captured=False).select_related(
        "logged_by", "contact", "organization"
    )
    if before is not None:
        activities = activities.filter(occurred_at__lt=before)
    return [
        Entry(a.occurred_at, f"activity:{a.pk}", a.kind, a, "contacts/timeline/activity.html")
        for a in activities.order_by("-occurred_at", "-id")[: limit + 1]
    ]


def task_entries(
    record: Contact | Organization, *, before: datetime | None, limit: int
) -> list[Entry]:
    """Tasks appear when they were done or cancelled, or when they were planned."""
    link = Q(contact=record) if isinstance(record, Contact) else Q(organization=record)
    tasks = (
        Task.objects.filter(link)
        .annotate(happened_at=Coalesce("done_at", "cancelled_at", "created_at"))
        .select_related("assignee", "done_by", "created_by", "contact")
    )
    if before is not None:
        tasks = tasks.filter(happened_at__lt=before)
    return [
        Entry(t.happened_at, f"task:{t.pk}", "task", t, "contacts/timeline/task.html")
        for t in tasks.order_by("-happened_at", "-id")[: limit + 1]
    ]


register_timeline_provider(activity_entries)
register_timeline_provider(task_entries)
