# Long on purpose: one aggregate per pipeline or health figure, each returning a Table.
"""The pipeline figures shown beside the scorecards, and the health dashboard's breakdowns.

Each function is one or two aggregate queries for a `Scope` (tenant, period, owner,
pipeline) and returns a `Table`: the dashboards draw charts from it, show it as a table
for screen readers and export it as CSV, so all three show the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Trunc, TruncMonth

from contacts.models import Activity
from crm.models import Membership
from pipeline.models import Deal, DealActivity, Pipeline, Stage, StageTransition
from reporting import completeness
from reporting.models import Snapshot, SnapshotDeal
from reporting.periods import Period, add_months, local_midnight, month_start
from reporting.point_in_time import rotting_since, with_hygiene
from reporting.scorecards import (
    MONEY,
    Scope,
    active_days_series,
    automation_runs_qs,
    criteria_fields,
    deal_required_aggregates,
    open_deals_at,
)
from reporting.sql_functions import Epoch, Median


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # drill-down per row
    note: str = ""


def _month_label(day: date) -> str:
    return day.strftime("%b %Y")


def _ratio(a, b) -> float | None:
    return float(Decimal(a or 0) / Decimal(b)) if b else None


def _deal_transitions(scope: Scope, start, end):
    qs = StageTransition.objects.filter(at__gte=start, at__lt=end)
    if scope.owner_id:
        qs = qs.filter(deal__owner_id=scope.owner_id)
    return qs


def chart_pipeline(scope: Scope) -> Pipeline | None:
    """The pipeline whose stages the stage charts show: the filter's, else the first sales one."""
    if scope.pipeline_id:
        return Pipeline.objects.filter(pk=scope.pipeline_id).first()
    return Pipeline.objects.filter(kind=Pipeline.Kind.SALES).first() or Pipeline.objects.first()


def _stages(pipeline: Pipeline | None) -> list[Stage]:
    if pipeline is None:
        return []
    return list(Stage.objects.filter(pipeline=pipeline).active().order_by("position", "id"))


def funnel(scope: Scope, pipeline: Pipeline | None, stages: list[Stage]) -> Table:
    """Stage conversion as a cohort: of the deals that entered S in the period, the share
    that left it for a later stage (not Lost) before the period's end. Counting every move
    out of S in the period over the entries of the period mixed two populations (a deal
    that entered S before the period and left during it) and read above 100 %."""
    p = scope.period
    table = Table(
        "funnel",
        "Stage conversion",
        ["Stage", "Entered", "Moved on", "Conversion"],
        note="Of the deals that entered each stage in the period, those that moved on by its end.",
    )
    if pipeline is None:
        return table
    later = Q(to_stage__position__gt=F("from_stage__position")) | Q(to_stage__kind="won")
    moved_on = (
        StageTransition.objects.filter(
            later,
            deal=OuterRef("deal"),
            from_stage=OuterRef("to_stage"),
            at__gte=OuterRef("at"),
            at__lt=p.end_at,
        )
        .exclude(to_stage__kind="lost")
        .values("pk")
    )
    rows = {
        row["to_stage"]: row
        for row in _deal_transitions(scope, p.start_at, p.end_at)
        .filter(to_stage__pipeline=pipeline)
        .annotate(moved_on=Exists(moved_on))
        .order_by()
        .values("to_stage")
        .annotate(
            n_in=Count("deal", distinct=True),
            n_on=Count("deal", distinct=True, filter=Q(moved_on=True)),
        )
    }
    for stage in stages:
        if stage.kind != Stage.Kind.OPEN:
            continue
        row = rows.get(stage.pk, {})
        n_in, n_on = row.get("n_in", 0), row.get("n_on", 0)
        table.rows.append([stage.name, n_in, n_on, _ratio(n_on, n_in)])
    return table


def dwell(scope: Scope, pipeline: Pipeline | None, stages: list[Stage]) -> Table:
    """Mean and median days in each stage, over deals that left it during the period."""
    p = scope.period
    table = Table(
        "dwell",
        "Time in stage",
        ["Stage", "Deals that left", "Mean days", "Median days", "Limit (days)"],
    )
    if pipeline is None:
        return table
    rows = {
        row["from_stage"]: row
        for row in _deal_transitions(scope, p.start_at, p.end_at)
        .filter(from_stage__pipeline=pipeline, seconds_in_stage__isnull=False)
        .order_by()
        .values("from_stage")
        .annotate(
            n=Count("pk"),
            mean=Avg("seconds_in_stage", output_field=FloatField()),
            median=Median("seconds_in_stage"),
        )
    }
    for stage in stages:
        if stage.kind != Stage.Kind.OPEN:
            continue
        row = rows.get(stage.pk, {})
        mean = row.get("mean")
        median = row.get("median")
        table.rows.append(
            [
                stage.name,
                row.get("n", 0),
                round(mean / 86400, 1) if mean is not None else None,
                round(median / 86400, 1) if median is not None else None,
                stage.max_dwell_days,
            ]
        )
    return table


def calibration(scope: Scope, pipeline: Pipeline | None, stages: list[Stage]) -> Table:
    """Each stage's configured probability beside the win rate achieved from it: deals that
    left it in the 12 months up to `end`, won ÷ (won + lost) as they stand today."""
    p = scope.period
    table = Table(
        "calibration",
        "Probability calibration",
        ["Stage", "Configured probability", "Won from here", "Deals closed", "Deals left"],
        note="Deals that left each stage in the 12 months up to the period's end.",
    )
    if pipeline is None:
        return table
    since = local_midnight(add_months(month_start(p.end), -12), p.tz)
    rows = {
        row["from_stage"]: row
        for row in _deal_transitions(scope, since, p.end_at)
        .filter(from_stage__pipeline=pipeline)
        .order_by()
        .values("from_stage")
        .annotate(
            left=Count("deal", distinct=True),
            closed=Count("deal", distinct=True, filter=Q(deal__status__in=["won", "lost"])),
            won=Count("deal", distinct=True, filter=Q(deal__status="won")),
        )
    }
    for stage in stages:
        if stage.kind != Stage.Kind.OPEN:
            continue
        row = rows.get(stage.pk, {})
        table.rows.append(
            [
                stage.name,
                stage.probability / 100,
                _ratio(row.get("won"), row.get("closed")),
                row.get("closed", 0),
                row.get("left", 0),
            ]
        )
    return table


def lost_reasons(scope: Scope) -> Table:
    p = scope.period
    table = Table("lost", "Lost reasons", ["Reason", "Deals lost", "Amount"])
    rows = (
        scope.deals()
        .filter(status=Deal.Status.LOST, closed_at__gte=p.start_at, closed_at__lt=p.end_at)
        .order_by()
        .values("lost_reason__label")
        .annotate(
            n=Count("pk"), amount=Coalesce(Sum("amount"), Value(Decimal(0)), output_field=MONEY)
        )
        .order_by("-n", "lost_reason__label")
    )
    table.rows = [[r["lost_reason__label"] or "No reason", r["n"], r["amount"]] for r in rows]
    return table


def weighted_by_month(scope: Scope) -> Table:
    """The weighted pipeline at `end` by expected-close month (open deals, stage then)."""
    p = scope.period
    table = Table(
        "weighted",
        "Weighted pipeline by expected close",
        ["Month", "Deals", "Open amount", "Weighted amount"],
        note="Open deals at the period's end; earlier months are overdue close dates.",
    )
    amount = Coalesce("amount", Value(Decimal(0)), output_field=MONEY)
    deals = open_deals_at(scope, p.end_at, revenue_only=True).annotate(
        month=Trunc("expected_close", "month", output_field=DateField())
    )
    rows = (
        deals.order_by()
        .values("month")
        .annotate(
            n=Count("pk"),
            open_amount=Sum(amount),
            weighted=Sum(ExpressionWrapper(amount * F("probability_at"), output_field=MONEY)),
        )
        .order_by(F("month").asc(nulls_last=True))
    )
    for row in rows:
        label = _month_label(row["month"]) if row["month"] else "No date"
        weighted = (Decimal(row["weighted"] or 0) / 100).quantize(Decimal("0.01"))
        table.rows.append([label, row["n"], row["open_amount"], weighted])
    return table


def _last_months(p: Period, count: int = 12) -> list[date]:
    last = month_start(p.end - timedelta(days=1))
    return [add_months(last, -i) for i in range(count - 1, -1, -1)]


def trend_by_month(scope: Scope) -> Table:
    """Win rate and median sales cycle for each of the 12 months up to the period's end."""
    p = scope.period
    months = _last_months(p)
    table = Table(
        "trend",
        "Win rate and sales cycle by month",
        ["Month", "Deals closed", "Deals won", "Win rate", "Median sales cycle (days)"],
    )
    start = local_midnight(months[0], p.tz)
    end = local_midnight(add_months(months[-1], 1), p.tz)
    cycle = ExpressionWrapper((Epoch("closed_at") - Epoch("created_at")) / 86400.0, FloatField())
    won = Q(status=Deal.Status.WON)
    rows = {
        row["month"].date() if hasattr(row["month"], "date") else row["month"]: row
        for row in scope.deals()
        .filter(closed_at__gte=start, closed_at__lt=end, status__in=["won", "lost"])
        .annotate(month=TruncMonth("closed_at", tzinfo=p.tz))
        .order_by()
        .values("month")
        .annotate(closed=Count("pk"), won=Count("pk", filter=won), cycle=Median(cycle, filter=won))
    }
    for month in months:
        row = rows.get(month, {})
        cyc = row.get("cycle")
        table.rows.append(
            [
                _month_label(month),
                row.get("closed", 0),
                row.get("won", 0),
                _ratio(row.get("won"), row.get("closed")),
                round(cyc, 1) if cyc is not None else None,
            ]
        )
    return table


def forecast_vs_actual(scope: Scope) -> Table:
    """For each month: the weighted pipeline due that month as it stood on its first day
    (that day's snapshot) beside the revenue actually won in it."""
    p = scope.period
    months = _last_months(p)
    table = Table(
        "forecast",
        "Forecast against actual",
        ["Month", "Forecast (weighted, at the month's start)", "Won", "Error"],
        note="A month without a snapshot of its first day has no forecast.",
    )
    lines = SnapshotDeal.objects.filter(snapshot__day__in=months)
    if scope.pipeline_id:
        lines = lines.filter(pipeline_id=scope.pipeline_id)
    else:
        lines = lines.filter(pipeline__kind__in=Pipeline.REVENUE_KINDS)
    lines = scope.owned(lines)
    amount = Coalesce("amount", Value(Decimal(0)), output_field=MONEY)
    forecast = dict(
        lines.annotate(month=Trunc("expected_close", "month", output_field=DateField()))
        .filter(month=F("snapshot__day"))
        .order_by()
        .values_list("snapshot__day")
        .annotate(w=Sum(ExpressionWrapper(amount * F("probability"), output_field=MONEY)))
    )
    taken = set(Snapshot.objects.filter(day__in=months).values_list("day", flat=True))
    start = local_midnight(months[0], p.tz)
    end = local_midnight(add_months(months[-1], 1), p.tz)
    won = {
        (row["month"].date() if hasattr(row["month"], "date") else row["month"]): row["won_amount"]
        for row in scope.deals()
        .filter(status=Deal.Status.WON, closed_at__gte=start, closed_at__lt=end)
        .annotate(month=TruncMonth("closed_at", tzinfo=p.tz))
        .order_by()
        .values("month")
        .annotate(won_amount=Sum(amount))
    }
    for month in months:
        f = (
            (Decimal(forecast.get(month) or 0) / 100).quantize(Decimal("0.01"))
            if month in taken
            else None
        )
        actual = Decimal(won.get(month) or 0).quantize(Decimal("0.01"))
        error = float((f - actual) / actual) if f is not None and actual else None
        table.rows.append([_month_label(month), f, actual, error])
    return table


def sparklines(p: Period, keys: list[str], days: int = 84) -> dict[str, list]:
    """Each figure's 30-day rolling value on each snapshot day of the last `days` days."""
    rows = Snapshot.objects.filter(day__gt=p.end - timedelta(days=days), day__lte=p.end).order_by(
        "day"
    )
    series: dict[str, list] = {k: [] for k in keys}
    for day, card in rows.values_list("day", "scorecard"):
        for key in keys:
            series[key].append([day.isoformat(), card.get(key)])
    return series


# Health


def active_users_by_day(scope: Scope) -> Table:
    """Members active each day ÷ members that day, the series behind `daily_active_users`."""
    table = Table("dau", "Daily active users", ["Day", "Active members", "Members", "Share"])
    for day, active, members in active_days_series(scope):
        table.rows.append([day.isoformat(), active, members, _ratio(active, members)])
    return table


def completeness_by_field(scope: Scope) -> Table:
    """Each required field's fill rate by record type, worst first."""
    p = scope.period
    required = completeness.required_fields(scope.tenant)
    table = Table(
        "completeness",
        "Data completeness by field",
        ["Record type", "Field", "Required", "Filled", "Fill rate"],
    )
    rows = []
    for kind in ("contact", "organization"):
        model = completeness.RECORD_MODELS[kind]
        records = scope.owned(
            model.objects.filter(created_at__lt=p.end_at)
            .exclude(erased_at__lt=p.end_at)
            .exclude(merged_at__lt=p.end_at)
        )
        names = required[kind]
        if not names:
            continue
        sums = records.aggregate(
            n=Count("pk"),
            **{f"f{i}": Sum(completeness.filled(model, name)) for i, name in enumerate(names)},
        )
        for i, name in enumerate(names):
            rows.append((kind, name, sums["n"], sums[f"f{i}"] or 0))
    aggregates = deal_required_aggregates(required["deal"], criteria_fields())
    names = {k: v.value for k, v in aggregates.items() if k.startswith("name_")}
    values = {k: v for k, v in aggregates.items() if not k.startswith("name_")}
    if values:
        sums = open_deals_at(scope, p.end_at, revenue_only=False).aggregate(**values)
        for key, name in names.items():
            i = key.split("_")[1]
            rows.append(("deal", name, sums[f"req_{i}"] or 0, sums[f"fill_{i}"] or 0))
    rows.sort(key=lambda r: (_ratio(r[3], r[2]) if r[2] else 2, r[0], r[1]))
    for kind, name, req, filled in rows:
        table.rows.append(
            [
                completeness.RECORD_LABELS[kind],
                completeness.label(kind, name),
                req,
                filled,
                _ratio(filled, req),
            ]
        )
        table.links.append(f"figure=data_completeness&record={kind}&field={name}")
    return table


def activity_by_member(scope: Scope, members: list[Membership]) -> Table:
    """Activities each member logged in the period, by kind, per week."""
    p = scope.period
    table = Table(
        "activity",
        "Activity logging per member",
        ["Member", "Calls", "E-mails", "Meetings", "Notes", "Total", "Per week"],
    )
    kinds = [k for k, _ in Activity.Kind.choices]
    counts = {
        row["logged_by"]: row
        for row in scope.owned(
            Activity.objects.filter(occurred_at__gte=p.start_at, occurred_at__lt=p.end_at),
            "logged_by",
        )
        .order_by()
        .values("logged_by")
        .annotate(total=Count("pk"), **{k: Count("pk", filter=Q(kind=k)) for k in kinds})
    }
    for m in members:
        row = counts.get(m.user_id, {})
        total = row.get("total", 0)
        table.rows.append(
            [str(m.user), *[row.get(k, 0) for k in kinds], total, round(total / (p.days / 7), 1)]
        )
        table.links.append(f"figure=activity_logging_rate&owner={m.user_id}")
    return table


def stale_deal_list(scope: Scope, *, limit: int | None = 200) -> tuple[Table, dict]:
    """Open deals at `end` that are stale, longest in their stage first, and the hygiene
    counts (no next action, over the time limit, no recent activity)."""
    p = scope.period
    since = rotting_since(p.end, p.tz)
    last_activity = (
        DealActivity.objects.filter(deal=OuterRef("pk"), activity__occurred_at__lt=p.end_at)
        .order_by()
        .values("deal")
        .annotate(m=Max("activity__occurred_at"))
        .values("m")
    )
    deals = with_hygiene(
        open_deals_at(scope, p.end_at, revenue_only=False), p.end_at, since
    ).annotate(
        stage_name=Subquery(Stage.objects.filter(pk=OuterRef("stage_at")).values("name")[:1]),
        last_activity=Subquery(last_activity[:1]),
    )
    # Aliases differ from the annotations they count (an alias would shadow its column).
    totals = deals.aggregate(
        n_open=Count("pk"),
        n_no_task=Count("pk", filter=Q(has_task=False)),
        n_over_limit=Count("pk", filter=Q(over_limit=1)),
        n_rotting=Count("pk", filter=Q(recent_activity=False) & Q(created_at__lt=since)),
        n_stale=Count("pk", filter=Q(stale=1)),
    )
    counts = {key[2:]: value for key, value in totals.items()}
    table = Table(
        "stale",
        "Stale deals",
        ["Deal", "Owner", "Stage", "Days in stage", "Limit (days)", "Last activity", "Amount"],
    )
    rows = deals.filter(stale=1).select_related("owner").order_by("-dwell_seconds", "pk")[:limit]
    for deal in rows:
        table.rows.append(
            [
                deal.name,
                str(deal.owner) if deal.owner else "",
                deal.stage_name,
                int(deal.dwell_seconds // 86400),
                deal.limit_at,
                deal.last_activity.astimezone(p.tz).date().isoformat()
                if deal.last_activity
                else "",
                deal.amount,
            ]
        )
        table.links.append(deal.get_absolute_url())
    if limit is not None and counts["stale"] > limit:
        table.note = (
            f"The {limit} longest in their stage of {counts['stale']}; the CSV has them all."
        )
    return table, counts


def automation_breakdown(scope: Scope) -> dict[str, int]:
    """{automation: runs in the period}, the parts of `automation_runs`."""
    return dict(
        automation_runs_qs(scope).order_by().values_list("automation").annotate(n=Count("pk"))
    )
