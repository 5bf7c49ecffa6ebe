"""Deals on the shared timeline.

A deal's own timeline merges its linked activities and tasks with its stage transitions.
Contact and organization timelines get the deals' stage changes through contacts' hook
(`register_timeline_provider`), and their pages and My day a deals panel
(`register_panel`); both registered in PipelineConfig.ready().
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from contacts.models import Activity, Contact, Organization, Task
from contacts.timeline import PAGE_SIZE, Entry, Panel, TimelinePage
from pipeline.models import Deal, DealActivity, DealTask, StageTransition
from pipeline.selectors.common import mark_stale, rotting_days, stale_q, with_card_facts
from pipeline.selectors.deals import deal_ids_of, deals_of

TRANSITION_TEMPLATE = "pipeline/timeline/transition.html"
# Later apps' entries on a deal's timeline (mail: its conversations), as contacts'
# `register_timeline_provider` does for contacts: fn(deal, *, before, limit) -> [Entry].
_deal_providers: list = []


def register_deal_timeline_provider(provider):
    if provider not in _deal_providers:
        _deal_providers.append(provider)
    return provider


def _transition_entries(transitions: QuerySet[StageTransition], *, before, limit) -> list[Entry]:
    if before is not None:
        transitions = transitions.filter(at__lt=before)
    rows = transitions.select_related("deal", "from_stage", "to_stage", "by").order_by("-at", "-id")
    return [
        Entry(t.at, f"transition:{t.pk}", "stage", t, TRANSITION_TEMPLATE)
        for t in rows[: limit + 1]
    ]


def deal_timeline(deal: Deal, *, before: datetime | None = None, limit: int = PAGE_SIZE):
    """Everything that happened on the deal, newest first, a page at a time (3 queries, and
    those of the registered providers)."""
    activities = Activity.objects.filter(
        pk__in=DealActivity.objects.filter(deal=deal).values("activity_id"), captured=False
    ).select_related("logged_by", "contact", "organization")
    if before is not None:
        activities = activities.filter(occurred_at__lt=before)
    activity_entries = [
        Entry(a.occurred_at, f"activity:{a.pk}", a.kind, a, "contacts/timeline/activity.html")
        for a in activities.order_by("-occurred_at", "-id")[: limit + 1]
    ]
    tasks = (
        Task.objects.filter(pk__in=DealTask.objects.filter(deal=deal).values("task_id"))
        .annotate(happened_at=Coalesce("done_at", "cancelled_at", "created_at"))
        .select_related("assignee", "done_by", "created_by", "contact")
    )
    if before is not None:
        tasks = tasks.filter(happened_at__lt=before)
    task_entries = [
        Entry(t.happened_at, f"task:{t.pk}", "task", t, "contacts/timeline/task.html")
        for t in tasks.order_by("-happened_at", "-id")[: limit + 1]
    ]
    transitions = _transition_entries(
        StageTransition.objects.filter(deal=deal), before=before, limit=limit
    )
    merged = list(
        heapq.merge(
            activity_entries,
            task_entries,
            transitions,
            *(provider(deal, before=before, limit=limit) for provider in _deal_providers),
            key=lambda e: (e.at, e.key),
            reverse=True,
        )
    )
    page = merged[:limit]
    more = len(merged) > limit
    return TimelinePage(entries=page, next_before=page[-1].at if more and page else None)


def stage_entries(
    record: Contact | Organization, *, before: datetime | None, limit: int
) -> list[Entry]:
    """Deals opened and moved, on the timeline of their contacts and organization."""
    # The deals first (their own indexes), then their transitions through the (tenant,
    # deal, at) index: an OR across the join to the deal walked every transition of the
    # tenant (2.5 s at 600,000 transitions; bench/NOTES.md).
    deal_ids = deal_ids_of(record)
    if not deal_ids:
        return []
    transitions = StageTransition.objects.filter(deal_id__in=deal_ids)
    return _transition_entries(transitions, before=before, limit=limit)


def deals_panel(request: HttpRequest, record: Contact | Organization) -> Panel:
    deals = deals_of(record)
    new_url_param = (
        f"organization={record.pk}"
        if isinstance(record, Organization)
        else f"primary_contact={record.pk}"
    )
    return Panel(
        title="Deals",
        template="pipeline/panels/deals.html",
        context={"deals": deals, "new_param": new_url_param, "record": record},
    )


def attention_panel(request: HttpRequest, record=None) -> Panel | None:
    """My day: the member's open deals that are stale or past their expected close."""
    now = timezone.now()
    rotting = rotting_days()
    today = timezone.localdate(now, request.tenant.tz)
    deals = with_card_facts(
        Deal.objects.filter(owner=request.user, status=Deal.Status.OPEN)
        .filter(stale_q(now=now, rotting=rotting) | Q(expected_close__lt=today))
        .select_related("stage")
        .order_by("dwell_due_at", "expected_close", "id")
    )[:8]
    deals = list(deals)
    if not deals:
        return None
    mark_stale(deals, now=now, rotting=rotting)
    return Panel(
        title="Deals needing attention",
        template="pipeline/panels/attention.html",
        context={"deals": deals, "today": today, "soon": now + timedelta(days=7)},
    )
