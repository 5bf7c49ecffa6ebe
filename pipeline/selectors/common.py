"""What the board, the lists and the timeline share about a deal: staleness (METRICS.md
"stale deals", evaluated now), the facts a card shows, weighted amounts."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from pipeline.models import DEFAULT_ROTTING_DAYS, Deal, DealActivity, DealTask, PipelineSettings

HUNDRED = Decimal(100)


def rotting_days() -> int:
    found = PipelineSettings.objects.values_list("rotting_days", flat=True).first()
    return found or DEFAULT_ROTTING_DAYS


def weighted(amount: Decimal | None, probability: int) -> Decimal:
    return (amount or Decimal(0)) * probability / HUNDRED


# Staleness (METRICS.md "stale deals", evaluated now)


def _recent_activity(since: datetime) -> Exists:
    return Exists(
        DealActivity.objects.filter(deal=OuterRef("pk"), activity__occurred_at__gte=since)
    )


def stale_q(*, now: datetime, rotting: int) -> Q:
    """Open deals past their stage's dwell limit, or silent for the rotting period
    (a deal younger than the rotting period is not stale for lack of activity)."""
    since = now - timedelta(days=rotting)
    return Q(dwell_due_at__lt=now) | (Q(created_at__lt=since) & ~_recent_activity(since))


def with_card_facts(deals: QuerySet[Deal]) -> QuerySet[Deal]:
    """What a card or a list row shows besides the deal's own columns."""
    last_activity = (
        DealActivity.objects.filter(deal=OuterRef("pk"))
        .order_by("-activity__occurred_at")
        .values("activity__occurred_at")[:1]
    )
    open_task = DealTask.objects.filter(
        deal=OuterRef("pk"), task__done_at__isnull=True, task__cancelled_at__isnull=True
    )
    return deals.select_related("organization", "owner", "primary_contact").annotate(
        last_activity_at=Subquery(last_activity), has_next_action=Exists(open_task)
    )


def mark_stale(deals: list[Deal], *, now: datetime, rotting: int) -> None:
    """Set `is_stale` and `silent_days` on annotated deals (with_card_facts)."""
    since = now - timedelta(days=rotting)
    for deal in deals:
        silent_since = deal.last_activity_at or deal.created_at
        deal.silent_days = max(0, (now - silent_since).days)
        over = deal.dwell_due_at is not None and deal.dwell_due_at < now
        silent = deal.created_at < since and (
            deal.last_activity_at is None or deal.last_activity_at < since
        )
        deal.is_silent = deal.is_open and silent
        deal.is_stale = deal.is_open and (over or silent)
