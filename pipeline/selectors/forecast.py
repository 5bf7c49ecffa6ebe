"""The forecast: expected close by month and owner, and the deal list filter behind each figure."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from crm.models import User
from pipeline.models import Deal, Pipeline, Stage
from pipeline.selectors.common import HUNDRED


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
