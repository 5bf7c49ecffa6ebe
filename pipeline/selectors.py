"""Reads that are more than a one-line query: the board, lists, the stage path, the forecast.

Each answers in a number of queries that does not grow with the number of deals.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncMonth

from contacts.models import Contact, Organization, Task
from crm.models import User
from pipeline.models import (
    DEFAULT_ROTTING_DAYS,
    Deal,
    DealActivity,
    DealContact,
    DealTask,
    Pipeline,
    PipelineSettings,
    Stage,
    StageCriterion,
    StageTransition,
)

# Cards per column before "Show more": rendering a card costs ~2-3 ms of template time,
# so 25 per column (125 cards) made the board's server time 4x its SQL time (NOTES.md).
BOARD_PAGE = 10
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


# The board


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


def _first_ids(firsts: list[QuerySet]) -> list[int]:
    """The ids of LIMITed per-column querysets: one UNION ALL where the database allows a
    LIMIT inside it (PostgreSQL); SQLite, for `make run`, takes one query per column."""
    if not firsts:
        return []
    if connection.features.supports_slicing_ordering_in_compound:
        return [pk for (pk,) in firsts[0].union(*firsts[1:], all=True)]
    return [pk for first in firsts for (pk,) in first]


# Lists


def deal_list() -> QuerySet[Deal]:
    return with_card_facts(Deal.objects.all()).select_related("stage", "pipeline")


def deal_ids_of(record: Contact | Organization) -> list[int]:
    """The ids of a contact's deals (primary or linked contact) or an organization's.

    A contact's are a UNION of two index lookups: `primary_contact = … OR id IN (linked)`
    cannot use an index and scanned every deal of the tenant (85 ms at 150,000 deals,
    330 ms with the sort of the deals panel; bench/NOTES.md)."""
    if isinstance(record, Organization):
        return list(Deal.objects.filter(organization=record).values_list("pk", flat=True))
    primary = Deal.objects.filter(primary_contact=record).order_by().values_list("pk")
    linked = DealContact.objects.filter(contact=record).order_by().values_list("deal_id")
    return [pk for (pk,) in primary.union(linked)]


def deals_of(record: Contact | Organization, *, limit: int = 20) -> list[Deal]:
    """A contact's or organization's deals, open ones first, newest first."""
    if isinstance(record, Organization):
        deals = Deal.objects.filter(organization=record)
    else:
        deals = Deal.objects.filter(pk__in=deal_ids_of(record))
    return list(
        deals.select_related("stage", "owner").order_by(
            F("closed_at").desc(nulls_first=True), "-created_at"
        )[:limit]
    )


# The deal page


@dataclass
class PathStep:
    stage: Stage
    state: str  # "done", "current", "future", "skipped"
    seconds: int
    visits: int
    entry_criteria: list[str]

    @property
    def days(self) -> float:
        return self.seconds / 86400


def stage_path(deal: Deal, *, now: datetime) -> list[PathStep]:
    """Every stage of the deal's pipeline with the time the deal spent in it (summed over
    visits), the current one running until now; future stages list their entry criteria.
    Three queries."""
    stages = list(
        Stage.objects.active().filter(pipeline_id=deal.pipeline_id).prefetch_related("criteria")
    )
    spent: dict[int, int] = defaultdict(int)
    visits: dict[int, int] = defaultdict(int)
    for row in (
        StageTransition.objects.filter(deal=deal)
        .values("from_stage_id", "to_stage_id", "seconds_in_stage")
        .order_by("at", "id")
    ):
        if row["from_stage_id"]:
            spent[row["from_stage_id"]] += row["seconds_in_stage"] or 0
        visits[row["to_stage_id"]] += 1
    if deal.is_open:
        spent[deal.stage_id] += max(0, int((now - deal.stage_entered_at).total_seconds()))
    current = next((i for i, s in enumerate(stages) if s.pk == deal.stage_id), None)
    steps = []
    for i, stage in enumerate(stages):
        if stage.pk == deal.stage_id:
            state = "current"
        elif visits[stage.pk]:
            state = "done"
        elif current is not None and i < current and not stages[current].is_terminal:
            state = "skipped"
        else:
            state = "future"
        criteria = [
            c.describe(stage.name)
            for c in stage.criteria.all()
            if c.when == StageCriterion.When.ENTRY
        ]
        steps.append(PathStep(stage, state, spent[stage.pk], visits[stage.pk], criteria))
    return steps


def open_tasks_of(deal: Deal) -> list[Task]:
    linked = DealTask.objects.filter(deal=deal).values("task_id")
    return list(
        Task.objects.filter(pk__in=linked, done_at__isnull=True, cancelled_at__isnull=True)
        .select_related("assignee", "contact", "organization")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )


def other_contacts(deal: Deal) -> list[Contact]:
    linked = DealContact.objects.filter(deal=deal).values("contact_id")
    return list(Contact.objects.filter(pk__in=linked).order_by("last_name", "first_name"))


# The forecast


@dataclass
class Cell:
    count: int = 0
    amount: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)

    def add(self, count: int, amount: Decimal, weighted_amount: Decimal) -> None:
        self.count += count
        self.amount += amount
        self.weighted += weighted_amount


@dataclass
class Bucket:
    key: str  # "overdue", "2026-05", "later", "none": the deal list's close_month filter
    label: str
    start: date | None = None


@dataclass
class ForecastRow:
    owner_id: int | None
    owner_name: str
    cells: dict[str, Cell]
    total: Cell
    columns: list[tuple[Bucket, Cell]] = field(default_factory=list)


@dataclass
class Forecast:
    buckets: list[Bucket]
    rows: list[ForecastRow]
    totals: dict[str, Cell]
    total: Cell
    won: dict[str, Cell]
    # The owners beyond `top` (the smallest weighted pipelines), folded into one row.
    others: ForecastRow | None = None
    others_count: int = 0

    @property
    def total_columns(self) -> list[tuple[Bucket, Cell]]:
        return [(b, self.totals[b.key]) for b in self.buckets]

    @property
    def won_columns(self) -> list[tuple[Bucket, Cell]]:
        return [(b, self.won[b.key]) for b in self.buckets]


def month_buckets(today: date, months: int) -> list[Bucket]:
    first = today.replace(day=1)
    out = [Bucket("overdue", "Overdue")]
    for i in range(months):
        year, month = divmod(first.month - 1 + i, 12)
        start = date(first.year + year, month + 1, 1)
        out.append(Bucket(f"{start:%Y-%m}", f"{start:%b %Y}", start))
    out += [Bucket("later", "Later"), Bucket("none", "No date")]
    return out


class MonthOfDate(TruncMonth):
    """The first day of a date column's month. PostgreSQL's DATE_TRUNC would take the date
    as a timestamptz (the preferred cast) and convert time zones for each of the
    forecast's ~90,000 open deals; as a plain timestamp it is a fifth quicker."""

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.lhs)
        return f"DATE_TRUNC('month', ({sql})::timestamp)", params


def _bucket_key(month: date | None, buckets: list[Bucket]) -> str:
    if month is None:
        return "none"
    if isinstance(month, datetime):
        month = month.date()
    first = buckets[1].start
    if month < first:
        return "overdue"
    key = f"{month:%Y-%m}"
    return key if any(b.key == key for b in buckets) else "later"


def forecast(
    *,
    pipelines: list[Pipeline],
    today: date,
    tz: zoneinfo.ZoneInfo,
    months: int = 6,
    owner_id: int | None = None,
    top: int | None = None,
) -> Forecast:
    """Open pipeline by expected-close month and owner: count, amount and weighted amount
    (amount × the stage's win probability). Beside it, what was won in each month. Two
    aggregate queries and the owners' names.

    With `top`, the owners with the largest weighted pipelines get a row each and the
    rest one row together (`others`); the totals still count everyone."""
    buckets = month_buckets(today, months)
    deals = Deal.objects.filter(pipeline__in=pipelines)
    if owner_id:
        deals = deals.filter(owner_id=owner_id)
    # Grouped by stage too, and weighted here (the sum of a stage's amounts times its
    # probability): a join to the stages and a product per deal cost a third of the query
    # over 80,000 open deals (bench/NOTES.md).
    rows = (
        deals.filter(status=Deal.Status.OPEN)
        .annotate(month=MonthOfDate("expected_close"))
        .order_by()
        .values("month", "owner_id", "stage_id")
        .annotate(n=Count("pk"), total=Sum("amount"))
    )
    rows = list(rows)
    probability = dict(
        Stage.objects.filter(pipeline__in=pipelines).values_list("pk", "probability")
    )
    # The owners' names afterwards: grouping by them too joined and sorted wide rows for
    # every open deal (75,000: 400 ms with a sort on disk; bench/NOTES.md).
    names = {
        pk: User.label(full_name, email)
        for pk, full_name, email in User.objects.filter(
            pk__in={r["owner_id"] for r in rows} - {None}
        ).values_list("pk", "full_name", "email")
    }
    by_owner: dict[int | None, ForecastRow] = {}
    totals = {b.key: Cell() for b in buckets}
    total = Cell()
    for row in rows:
        key = _bucket_key(row["month"], buckets)
        owner = row["owner_id"]
        if owner not in by_owner:
            name = names.get(owner) or "Nobody"
            by_owner[owner] = ForecastRow(owner, name, {b.key: Cell() for b in buckets}, Cell())
        amount = row["total"] or Decimal(0)
        values = (row["n"], amount, amount * probability[row["stage_id"]] / HUNDRED)
        for cell in (by_owner[owner].cells[key], by_owner[owner].total, totals[key], total):
            cell.add(*values)
    won = {b.key: Cell() for b in buckets}
    if buckets[1].start:
        start = datetime.combine(buckets[1].start, datetime.min.time(), tzinfo=tz)
        won_rows = (
            deals.filter(status=Deal.Status.WON, closed_at__gte=start)
            .annotate(month=TruncMonth("closed_at", tzinfo=tz))
            .order_by()
            .values("month")
            .annotate(n=Count("pk"), total=Sum("amount"))
        )
        for row in won_rows:
            key = _bucket_key(row["month"], buckets)
            if key in won:
                won[key].add(row["n"], row["total"] or Decimal(0), row["total"] or Decimal(0))
    ordered = sorted(by_owner.values(), key=lambda r: (r.owner_id is None, r.owner_name.lower()))
    others, folded = _fold_smallest(ordered, top, buckets)
    folded_ids = {id(row) for row in folded}
    ordered = [row for row in ordered if id(row) not in folded_ids]
    for row in [*ordered, *([others] if others else [])]:
        row.columns = [(b, row.cells[b.key]) for b in buckets]
    return Forecast(
        buckets=buckets,
        rows=ordered,
        totals=totals,
        total=total,
        won=won,
        others=others,
        others_count=len(folded),
    )


def _fold_smallest(
    rows: list[ForecastRow], top: int | None, buckets: list[Bucket]
) -> tuple[ForecastRow | None, list[ForecastRow]]:
    """One row adding up the rows beyond the `top` largest weighted totals, and those rows."""
    if top is None or len(rows) <= top:
        return None, []
    by_size = sorted(rows, key=lambda r: r.total.weighted, reverse=True)
    folded = by_size[top:]
    others = ForecastRow(None, "", {b.key: Cell() for b in buckets}, Cell())
    for row in folded:
        for key, cell in row.cells.items():
            others.cells[key].add(cell.count, cell.amount, cell.weighted)
        others.total.add(row.total.count, row.total.amount, row.total.weighted)
    return others, folded


def close_month_q(key: str, *, today: date, months: int = 6) -> Q:
    """The deal list filter behind a forecast figure: a bucket key as a condition."""
    buckets = month_buckets(today, months)
    if key == "none":
        return Q(expected_close__isnull=True)
    if key == "overdue":
        return Q(expected_close__lt=buckets[1].start)
    if key == "later":
        last = buckets[-3].start
        year, month = divmod(last.month, 12)
        return Q(expected_close__gte=date(last.year + year, month + 1, 1))
    try:
        start = datetime.strptime(key, "%Y-%m").date()
    except ValueError:
        return Q(pk__in=[])
    year, month = divmod(start.month, 12)
    end = date(start.year + year, month + 1, 1)
    return Q(expected_close__gte=start, expected_close__lt=end)
