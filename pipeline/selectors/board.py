"""The board: columns per stage with their totals, a page of cards each, "Show more"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum

from pipeline.models import Deal, Pipeline, Stage
from pipeline.selectors.common import (
    HUNDRED,
    mark_stale,
    rotting_days,
    stale_q,
    weighted,
    with_card_facts,
)

# Cards per column before "Show more": rendering a card costs ~2-3 ms of template time,
# so 25 per column (125 cards) made the board's server time 4x its SQL time (NOTES.md).
BOARD_PAGE = 10


@dataclass(frozen=True)
class BoardFilters:
    owner_id: int | None = None
    mine: bool = False
    organization_id: int | None = None
    q: str = ""
    stale: bool = False

    def apply(self, deals: QuerySet[Deal], *, user_id: int, now: datetime, rotting: int):
        if self.mine:
            deals = deals.filter(owner_id=user_id)
        elif self.owner_id:
            deals = deals.filter(owner_id=self.owner_id)
        if self.organization_id:
            deals = deals.filter(organization_id=self.organization_id)
        for term in self.q.split()[:5]:
            deals = deals.filter(Q(name__icontains=term) | Q(organization__name__icontains=term))
        if self.stale:
            deals = deals.filter(stale_q(now=now, rotting=rotting))
        return deals

    @property
    def active(self) -> bool:
        return bool(self.mine or self.owner_id or self.organization_id or self.q or self.stale)


@dataclass
class Column:
    stage: Stage
    count: int = 0
    amount: Decimal = Decimal(0)
    cards: list[Deal] = field(default_factory=list)
    next_cursor: str = ""

    @property
    def weighted(self) -> Decimal:
        return weighted(self.amount, self.stage.probability)


@dataclass
class Board:
    pipeline: Pipeline
    columns: list[Column]
    terminal: list[Stage]
    count: int
    amount: Decimal
    weighted: Decimal


def cursor_of(deal: Deal) -> str:
    return f"{deal.stage_entered_at.isoformat()}~{deal.pk}"


def _after(cursor: str) -> Q:
    at_text, _, pk_text = cursor.partition("~")
    try:
        at, pk = datetime.fromisoformat(at_text), int(pk_text)
    except ValueError:
        return Q()
    return Q(stage_entered_at__gt=at) | Q(stage_entered_at=at, pk__gt=pk)


def board_deals(pipeline: Pipeline, filters: BoardFilters, *, user_id: int, now: datetime):
    rotting = rotting_days()
    deals = Deal.objects.filter(pipeline=pipeline, status=Deal.Status.OPEN)
    return filters.apply(deals, user_id=user_id, now=now, rotting=rotting), rotting


def board(
    pipeline: Pipeline,
    filters: BoardFilters,
    *,
    user_id: int,
    now: datetime,
    page: int = BOARD_PAGE,
) -> Board:
    """One column per open stage: totals of every matching deal, and the first `page` cards
    (oldest in the stage first). Five queries, whatever the number of deals."""
    stages = list(Stage.objects.active().filter(pipeline=pipeline))
    deals, rotting = board_deals(pipeline, filters, user_id=user_id, now=now)
    totals = {
        row["stage_id"]: row
        for row in deals.order_by().values("stage_id").annotate(n=Count("pk"), total=Sum("amount"))
    }
    columns = {
        s.pk: Column(
            stage=s,
            count=totals.get(s.pk, {}).get("n", 0),
            amount=totals.get(s.pk, {}).get("total") or Decimal(0),
        )
        for s in stages
        if not s.is_terminal
    }
    # The first page + 1 of each column: one LIMITed index scan per stage (deal_board_idx)
    # in one UNION query, then the card facts for those ids only. (A window over every
    # open deal computed the facts of all of them: 1 s at 60,000 open deals; NOTES.md.)
    firsts = [
        deals.filter(stage_id=pk).order_by("stage_entered_at", "id").values_list("pk")[: page + 1]
        for pk in columns
    ]
    ids = _first_ids(firsts)
    cards = list(
        with_card_facts(Deal.objects.filter(pk__in=ids)).order_by(
            "stage_id", "stage_entered_at", "id"
        )
    )
    by_stage = {s.pk: s for s in stages}
    for deal in cards:
        deal.stage = by_stage[deal.stage_id]
    mark_stale(cards, now=now, rotting=rotting)
    for deal in cards:
        column = columns.get(deal.stage_id)
        if column is None:
            continue
        if len(column.cards) < page:
            column.cards.append(deal)
        else:
            column.next_cursor = cursor_of(column.cards[-1])
    listed = list(columns.values())
    amount = sum((c.amount for c in listed), Decimal(0))
    return Board(
        pipeline=pipeline,
        columns=listed,
        terminal=[s for s in stages if s.is_terminal],
        count=sum(c.count for c in listed),
        amount=amount,
        weighted=sum((c.weighted for c in listed), Decimal(0)),
    )


def board_totals(pipeline: Pipeline, filters: BoardFilters, *, user_id: int, now: datetime):
    """The board's summary line alone (after a move): count, amount, weighted amount."""
    deals, _ = board_deals(pipeline, filters, user_id=user_id, now=now)
    weighted_expr = ExpressionWrapper(
        F("amount") * F("stage__probability"),
        output_field=DecimalField(max_digits=20, decimal_places=2),
    )
    totals = deals.order_by().aggregate(n=Count("pk"), total=Sum("amount"), w=Sum(weighted_expr))
    return Board(
        pipeline=pipeline,
        columns=[],
        terminal=[],
        count=totals["n"],
        amount=totals["total"] or Decimal(0),
        weighted=(totals["w"] or Decimal(0)) / HUNDRED,
    )


def column(
    stage: Stage,
    filters: BoardFilters,
    *,
    user_id: int,
    now: datetime,
    after: str = "",
    page: int = BOARD_PAGE,
) -> Column:
    """One column: its totals and the next page of cards after `after` (a cursor)."""
    deals, rotting = board_deals(stage.pipeline, filters, user_id=user_id, now=now)
    deals = deals.filter(stage=stage)
    totals = deals.order_by().aggregate(n=Count("pk"), total=Sum("amount"))
    result = Column(stage=stage, count=totals["n"], amount=totals["total"] or Decimal(0))
    if page == 0:  # the totals only (a column header)
        return result
    page_deals = with_card_facts(deals)
    if after:
        page_deals = page_deals.filter(_after(after))
    cards = list(page_deals.order_by("stage_entered_at", "id")[: page + 1])
    for deal in cards:
        deal.stage = stage
    mark_stale(cards, now=now, rotting=rotting)
    result.cards = cards[:page]
    if len(cards) > page:
        result.next_cursor = cursor_of(cards[page - 1])
    return result


def card(deal: Deal, *, now: datetime) -> Deal:
    """One deal with what its card shows (after a move)."""
    fresh = with_card_facts(Deal.objects.filter(pk=deal.pk)).select_related("stage").get()
    mark_stale([fresh], now=now, rotting=rotting_days())
    return fresh


@dataclass
class AfterMove:
    """What the board redraws after a drag: the headers of the columns left and entered
    (open stages only), the card if the deal still matches the filters, the summary."""

    heads: list[Column]
    card: Deal | None
    summary: Board


def after_move(
    deal: Deal, *, to_stage: Stage, filters: BoardFilters, user_id: int, now: datetime
) -> AfterMove:
    """The board's view of a deal just moved to `to_stage`."""
    left = next((t.from_stage_id for t in deal.transitions.order_by("-at", "-id")[:1]), None)
    heads = [
        column(stage, filters, user_id=user_id, now=now, page=0)
        for stage in Stage.objects.active().filter(pk__in=[left, to_stage.pk], kind="open")
    ]
    moved_card = None
    if not to_stage.is_terminal:
        matching, _ = board_deals(deal.pipeline, filters, user_id=user_id, now=now)
        if matching.filter(pk=deal.pk).exists():
            moved_card = card(deal, now=now)
    summary = board_totals(deal.pipeline, filters, user_id=user_id, now=now)
    return AfterMove(heads=heads, card=moved_card, summary=summary)


def _first_ids(firsts: list[QuerySet]) -> list[int]:
    """The ids of LIMITed per-column querysets: one UNION ALL where the database allows a
    LIMIT inside it (PostgreSQL); SQLite, for `make run`, takes one query per column."""
    if not firsts:
        return []
    if connection.features.supports_slicing_ordering_in_compound:
        return [pk for (pk,) in firsts[0].union(*firsts[1:], all=True)]
    return [pk for first in firsts for (pk,) in first]
