# Long on purpose: every METRICS.md figure's inputs sit beside the one assembly (_compute).
"""The effectiveness and health scorecards of ../shared/METRICS.md: one service, SQL aggregates.

`compute_scorecard(tenant, start=, end=, owner=, pipeline=)` is what the dashboards, the
`scorecard` command, the CSV exports and the daily snapshots all call, so a figure is the
same number everywhere. `compute_team(...)` gives every rep's scorecard with the same
queries grouped by owner (a bounded number of queries however many reps there are); a
rep's row equals `compute_scorecard(..., owner=rep)`.

Each figure is a handful of aggregate queries (conditional counts, sums, medians,
correlated subqueries for "as at `end`"); Python only divides the totals. Conventions:
- Instants are tenant-local midnights (`reporting.periods`); "at `end`" state is
  reconstructed from timestamps (stage from the last `StageTransition` before `end`) by
  `reporting.point_in_time`.
- A zero denominator gives `None` (null, "no data"), never 0.
- Without a pipeline filter, the effectiveness figures count the revenue pipelines
  (`Pipeline.REVENUE_KINDS`: sales and renewals), so an onboarding pipeline's "won"
  does not count as revenue twice; the health figures count every pipeline.
- Filters: `owner` narrows records to those the member owns (deals, contacts, records,
  activities they logged, notices and tasks they received) and member counts to that
  member; `pipeline` narrows deals only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least, TruncDate

from contacts.models import Activity, Contact
from crm.models import AuditEvent, AutomationLog, Membership, Role, Tenant, User
from pipeline.models import Deal, DealActivity, DealContact, Pipeline, StageCriterion
from reporting import completeness
from reporting.models import MemberActivityDay, RevenueTarget, Snapshot, SnapshotDeal
from reporting.periods import Period, local_midnight
from reporting.point_in_time import (
    active_at,
    covers_day,
    customer_on,
    deals_with_activity,
    flag,
    rotting_since,
    stage_key_at,
    stage_limits,
    task_open_at,
    with_stage_at,
)
from reporting.sql_functions import Earliest, Epoch, Median

EFFECTIVENESS_KEYS = [
    "close_rate",
    "close_rate_value",
    "sales_cycle_days",
    "revenue_per_rep",
    "won_revenue",
    "retention_rate",
    "lead_response_hours",
    "forecast_error",
    "forecast_accuracy",
    "pipeline_coverage",
    "target_attainment",
]
HEALTH_KEYS = [
    "daily_active_users",
    "data_completeness",
    "activity_logging_rate",
    "pipeline_hygiene",
    "stale_deals",
    "automation_runs",
    "leads_unanswered",
]
FIGURE_KEYS = EFFECTIVENESS_KEYS + HEALTH_KEYS

RESPONSE_KINDS = [Activity.Kind.CALL, Activity.Kind.EMAIL, Activity.Kind.MEETING]
ALL = "all"  # the key of the ungrouped totals
CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=20, decimal_places=2)


@dataclass(frozen=True)
class Scope:
    """What a computation covers: a tenant's period, maybe one owner or pipeline."""

    tenant: Tenant
    period: Period
    owner_id: int | None = None
    pipeline_id: int | None = None
    by_owner: bool = False

    def deals(self, *, revenue_only: bool = True) -> QuerySet:
        qs = Deal.objects.all()
        if self.pipeline_id:
            qs = qs.filter(pipeline_id=self.pipeline_id)
        elif revenue_only:
            qs = qs.filter(pipeline__kind__in=Pipeline.REVENUE_KINDS)
        if self.owner_id:
            qs = qs.filter(owner_id=self.owner_id)
        return qs

    def owned(self, qs: QuerySet, field: str = "owner") -> QuerySet:
        return qs.filter(**{f"{field}_id": self.owner_id}) if self.owner_id else qs

    def group(self, qs: QuerySet, owner_field: str, **aggregates) -> dict[Any, dict]:
        """{owner id: row} grouped by `owner_field` in team mode, else {ALL: totals}."""
        if self.by_owner:
            rows = qs.order_by().values(owner_field).annotate(**aggregates)
            return {row.pop(owner_field): row for row in rows}
        return {ALL: qs.aggregate(**aggregates)}


def open_deals_at(scope: Scope, instant: datetime, *, revenue_only: bool) -> QuerySet:
    return with_stage_at(scope.deals(revenue_only=revenue_only).open_at(instant), instant)


@dataclass(frozen=True)
class StageGroup:
    """Deals open at an instant that were in `stage` then, and over its time limit or not."""

    stage_id: int
    over_limit: bool
    row: dict  # the aggregates: n, with_task, rotting, fill_<i>


def _deals_at_end(scope: Scope, fields: list[str]) -> dict[Any, list[StageGroup]]:
    """The deals open at `end` (every pipeline) grouped by (owner in team mode,) stage at
    `end` and over-limit flag: their count, how many had a task open (`with_task`), how
    many lacked recent activity though older than the rotting period (`rotting`), and
    per field in `fields` how many had it filled (`fill_<i>`). One pass, one transition
    lookup per deal moved since `end`; the hygiene and the deals' completeness are sums
    over these groups."""
    p = scope.period
    since = rotting_since(p.end, p.tz)
    recent = deals_with_activity(since, p.end_at)
    deals = (
        scope.deals(revenue_only=False)
        .open_at(p.end_at)
        .annotate(
            stage_key=stage_key_at(p.end_at, stage_limits()),
            has_task=flag(task_open_at(p.end_at)),
            recent_activity=flag(Q(pk__in=recent)),
        )
    )
    aggregates = {
        "n": Count("pk"),
        "with_task": Count("pk", filter=Q(has_task=True)),
        "rotting": Count("pk", filter=Q(recent_activity=False, created_at__lt=since)),
        **{f"fill_{i}": Sum(completeness.filled(Deal, f)) for i, f in enumerate(fields)},
    }
    keys = ["owner", "stage_key"] if scope.by_owner else ["stage_key"]
    out: dict[Any, list[StageGroup]] = {}
    for row in deals.order_by().values(*keys).annotate(**aggregates):
        key = row.pop("stage_key")
        group = row.pop("owner") if scope.by_owner else ALL
        out.setdefault(group, []).append(StageGroup(abs(key), key < 0, row))
    return out


def lead_contacts(scope: Scope) -> QuerySet:
    """Contacts created in the period as leads, annotated with `first_response` (the first
    call, e-mail or meeting on them or their deals, from their creation to `end`) and
    `response_hours`. An activity dated before the contact existed (logged on a deal it
    joined later) answered someone else, so it does not count as the lead's response."""
    p = scope.period
    contacts = scope.owned(
        Contact.objects.filter(
            created_lifecycle=Contact.Lifecycle.LEAD,
            created_at__gte=p.start_at,
            created_at__lt=p.end_at,
        )
    )
    # A received e-mail is the lead's move, not a response to it.
    direct = Activity.objects.filter(
        contact=OuterRef("pk"),
        kind__in=RESPONSE_KINDS,
        inbound=False,
        occurred_at__gte=OuterRef("created_at"),
        occurred_at__lt=p.end_at,
    ).order_by("occurred_at")
    # Two subqueries rather than one with OR: each follows an index (a deal's primary
    # contact; a deal's other contacts), where an OR would scan every deal activity.
    # Each subquery starts from the contact's deals (an IN list the index on
    # (tenant, deal) serves), and takes MIN() rather than ORDER BY … LIMIT 1, so that no
    # planner walks every deal activity, or every activity in date order, per contact.
    on_deals = DealActivity.objects.filter(
        activity__kind__in=RESPONSE_KINDS,
        activity__inbound=False,
        activity__occurred_at__gte=OuterRef("created_at"),
        activity__occurred_at__lt=p.end_at,
    ).order_by()
    earliest = Func(F("activity__occurred_at"), function="MIN")
    primary_of = Deal.objects.filter(primary_contact_id=OuterRef(OuterRef("pk"))).values("pk")
    other_of = DealContact.objects.filter(contact_id=OuterRef(OuterRef("pk"))).values("deal_id")
    as_primary = on_deals.filter(deal_id__in=primary_of).annotate(first=earliest)
    as_other = on_deals.filter(deal_id__in=other_of).annotate(first=earliest)
    first = Earliest(
        Subquery(direct.values("occurred_at")[:1]),
        Subquery(as_primary.values("first")[:1]),
        Subquery(as_other.values("first")[:1]),
        output_field=DateTimeField(),
    )
    hours = ExpressionWrapper(
        (Epoch("first_response") - Epoch("created_at")) / 3600.0, output_field=FloatField()
    )
    return contacts.annotate(first_response=first).annotate(response_hours=hours)


# The figures' inputs, each {key: {input: value}} (key: owner id in team mode, else ALL).


def _closed(scope: Scope) -> dict:
    p = scope.period
    won = Q(status=Deal.Status.WON)
    amount = Coalesce("amount", Value(Decimal(0)), output_field=MONEY)
    cycle = ExpressionWrapper((Epoch("closed_at") - Epoch("created_at")) / 86400.0, FloatField())
    deals = scope.deals().filter(
        closed_at__gte=p.start_at,
        closed_at__lt=p.end_at,
        status__in=[Deal.Status.WON, Deal.Status.LOST],
    )
    return scope.group(
        deals,
        "owner",
        deals_closed=Count("pk"),
        deals_won=Count("pk", filter=won),
        closed_amount=Sum(amount),
        won_amount=Sum(amount, filter=won),
        cycle_days=Median(cycle, filter=won),
    )


def _members(scope: Scope, instant: datetime, *, role: str | None = None, name: str) -> dict:
    qs = scope.owned(Membership.objects.filter(active_at(instant)), "user")
    if role:
        qs = qs.filter(role=role)
    return scope.group(qs, "user", **{name: Count("pk")})


def _retention(scope: Scope) -> dict:
    """Organizations that were customers at `start`, and those still customers on the
    last day. Tenant-wide (or for one owner) "still a customer" is an IN over the
    organizations with a covering contract then: PostgreSQL hashes that list once, where
    an EXISTS was probed for each of 26,000 customer deals (bench/NOTES.md item 7). In
    team mode it must be the same owner's contract, so it stays a correlated EXISTS."""
    p = scope.period
    later = scope.deals().filter(customer_on(p.last_day))
    if scope.by_owner:
        kept = Exists(later.filter(organization=OuterRef("organization"), owner=OuterRef("owner")))
    else:
        kept = flag(Q(organization__in=later.values("organization")))
    deals = (
        scope.deals().filter(customer_on(p.start), organization__isnull=False).annotate(kept=kept)
    )
    return scope.group(
        deals,
        "owner",
        customers_at_start=Count("organization", distinct=True),
        customers_kept=Count("organization", distinct=True, filter=Q(kept=True)),
    )


def _leads(scope: Scope) -> dict:
    """The leads, those answered by `end`, and the median response time. Django reads the
    aggregates from a subquery selecting `response_hours`, which PostgreSQL merges into
    the outer query, inlining the three first-response lookups at each of the two uses;
    a DISTINCT over the primary key (one row per lead either way) keeps the subquery
    apart, so each lead's lookups run once (4,300 leads: 137 → 66 ms; bench/NOTES.md).
    In team mode the rows are grouped by owner, and the lookups run twice."""
    leads = lead_contacts(scope)
    if not scope.by_owner:
        leads = leads.values("pk", "response_hours").distinct()
    return scope.group(
        leads,
        "owner",
        leads=Count("pk"),
        leads_answered=Count("pk", filter=Q(response_hours__isnull=False)),
        response_median=Median("response_hours"),
    )


def _forecast(scope: Scope) -> tuple[bool, dict]:
    """The pipeline as it stood at `start` (the snapshot of the period's first day)."""
    p = scope.period
    exists = Snapshot.objects.filter(day=p.start).exists()
    lines = SnapshotDeal.objects.filter(
        snapshot__day=p.start, expected_close__gte=p.start, expected_close__lt=p.end
    )
    if scope.pipeline_id:
        lines = lines.filter(pipeline_id=scope.pipeline_id)
    else:
        lines = lines.filter(pipeline__kind__in=Pipeline.REVENUE_KINDS)
    lines = scope.owned(lines)
    amount = Coalesce("amount", Value(Decimal(0)), output_field=MONEY)
    weighted = ExpressionWrapper(amount * F("probability"), output_field=MONEY)
    return exists, scope.group(
        lines, "owner", open_pipeline=Sum(amount), weighted_x100=Sum(weighted)
    )


def _targets(scope: Scope) -> dict:
    """The revenue target for the period, pro rata by days for targets that overlap it."""
    p = scope.period
    targets = RevenueTarget.objects.filter(start__lt=p.end, end__gt=p.start)
    if scope.by_owner:
        targets = targets.filter(owner__isnull=False)
    elif scope.owner_id:
        targets = targets.filter(owner_id=scope.owner_id)
    else:
        targets = targets.filter(owner__isnull=True)
    overlap = (
        Epoch(Least(F("end"), Value(p.end))) - Epoch(Greatest(F("start"), Value(p.start)))
    ) / 86400.0
    length = (Epoch("end") - Epoch("start")) / 86400.0
    share = ExpressionWrapper(F("amount") * overlap / length, output_field=FloatField())
    return scope.group(targets, "owner", targets=Count("pk"), target=Sum(share))


def _activities(scope: Scope) -> dict:
    """Activities that happened in the period. COUNT(*) needs no column, so the count is
    an index-only scan of (tenant, occurred_at): COUNT(id) read every row of the month
    from the table while the index lacked the id (125,000 rows: 200 ms against 20-40 ms;
    bench/NOTES.md item 7)."""
    p = scope.period
    acts = scope.owned(
        Activity.objects.filter(occurred_at__gte=p.start_at, occurred_at__lt=p.end_at),
        "logged_by",
    )
    return scope.group(acts, "logged_by", activities=Count("*"))


def _hygiene(deals_end: dict[Any, list[StageGroup]]) -> dict:
    """Open deals at `end`, those with a next action and within their stage's time limit
    (hygienic), and those over the limit or without recent activity (stale)."""
    out = {}
    for key, groups in deals_end.items():
        out[key] = {
            "open_deals": sum(g.row["n"] for g in groups),
            "hygienic_deals": sum(g.row["with_task"] for g in groups if not g.over_limit),
            "stale_deals": sum(g.row["n" if g.over_limit else "rotting"] for g in groups),
        }
    return out


def automation_runs_qs(scope: Scope) -> QuerySet:
    """What the automations did in the period, from their done-once log: reminders,
    stale-deal alerts, renewal notices, cadence tasks and automatic assignments."""
    p = scope.period
    return scope.owned(
        AutomationLog.objects.runs().filter(created_at__gte=p.start_at, created_at__lt=p.end_at),
        "user",
    )


def _automation(scope: Scope) -> dict:
    return scope.group(automation_runs_qs(scope), "user", runs=Count("pk"))


def _completeness(scope: Scope, required: dict[str, list[str]]) -> list[dict]:
    """Filled and required field counts of the contacts and organizations at `end`."""
    p = scope.period
    results = []
    for kind in ("contact", "organization"):
        model = completeness.RECORD_MODELS[kind]
        records = scope.owned(
            model.objects.filter(created_at__lt=p.end_at)
            .exclude(erased_at__lt=p.end_at)
            .exclude(merged_at__lt=p.end_at)
        )
        fields = required[kind]
        filled = sum((completeness.filled(model, f) for f in fields), Value(0))
        rows = scope.group(records, "owner", records=Count("pk"), filled=Sum(filled))
        results.append(
            {
                k: {"required": r["records"] * len(fields), "filled": r["filled"] or 0}
                for k, r in rows.items()
            }
        )
    return results


def criteria_fields() -> dict[str, list[int]]:
    """{field name: ids of the stages whose entry criteria require it}."""
    by_field: dict[str, list[int]] = {}
    rows = StageCriterion.objects.filter(when="entry", kind="field").exclude(field_name="")
    for field_name, stage_id in rows.values_list("field_name", "stage_id"):
        by_field.setdefault(field_name, []).append(stage_id)
    return by_field


DEAL_FIELDS = {f.name for f in Deal._meta.get_fields()}


def deal_field_needs(
    always: Iterable[str], by_criteria: dict[str, list[int]]
) -> list[tuple[str, frozenset[int] | None]]:
    """(field name, ids of the stages whose deals must have it, None for every deal) for
    each field an open deal may be required to fill: the always-required ones and those
    the stages' entry criteria name (a criterion naming a field that no longer exists is
    left out)."""
    always = list(always)
    needs = []
    for name in sorted(set(always) | set(by_criteria)):
        known = name in always or completeness.is_custom_field(name) or name in DEAL_FIELDS
        if known:
            needs.append((name, None if name in always else frozenset(by_criteria[name])))
    return needs


def deal_required_aggregates(always: Iterable[str], by_criteria: dict[str, list[int]]) -> dict:
    """Aggregates counting, per field, the open deals that must have it and those that do
    (over deals annotated by `with_stage_at`)."""
    aggregates = {}
    for i, (name, stages) in enumerate(deal_field_needs(always, by_criteria)):
        needed = Q() if stages is None else Q(stage_at__in=sorted(stages))
        aggregates[f"req_{i}"] = Count("pk", filter=needed) if needed else Count("pk")
        aggregates[f"fill_{i}"] = Sum(completeness.filled(Deal, name), filter=needed or None)
        aggregates[f"name_{i}"] = Value(name)
    return aggregates


def _deal_completeness(
    deals_end: dict[Any, list[StageGroup]], needs: list[tuple[str, frozenset[int] | None]]
) -> dict:
    """Required and filled fields of the deals open at `end`: per stage group, a field
    counts for every deal of the group when that stage at `end` requires it."""
    out = {}
    for key, groups in deals_end.items():
        req = fill = 0
        for g in groups:
            for i, (_, stages) in enumerate(needs):
                if stages is None or g.stage_id in stages:
                    req += g.row["n"]
                    fill += g.row[f"fill_{i}"] or 0
        out[key] = {"required": req, "filled": fill}
    return out


def _activity_sources(scope: Scope) -> tuple[QuerySet, QuerySet]:
    """Visits (MemberActivityDay) in the period, and changes (AuditEvent by a member) on
    days without a visit row, annotated with their tenant-local `day`."""
    p = scope.period
    visits = scope.owned(MemberActivityDay.objects.filter(day__gte=p.start, day__lt=p.end), "user")
    changes = (
        scope.owned(
            AuditEvent.objects.filter(
                created_at__gte=p.start_at, created_at__lt=p.end_at, actor__isnull=False
            ),
            "actor",
        )
        .filter(Exists(Membership.objects.filter(user=OuterRef("actor"))))
        .annotate(day=TruncDate("created_at", tzinfo=scope.tenant.tz))
        .filter(
            ~Exists(MemberActivityDay.objects.filter(user=OuterRef("actor"), day=OuterRef("day")))
        )
    )
    return visits, changes


def active_days_series(scope: Scope) -> list[tuple[date, int, int]]:
    """(day, members active that day, members whose membership covered part of it) for
    each day of the period: two grouped queries and one conditional count per 200 days."""
    p = scope.period
    visits, changes = _activity_sources(scope)
    members = scope.owned(Membership.objects.all(), "user")
    days = p.day_list()
    active: dict[date, int] = dict.fromkeys(days, 0)
    for row in visits.order_by().values("day").annotate(n=Count("user", distinct=True)):
        active[row["day"]] += row["n"]
    for row in changes.order_by().values("day").annotate(n=Count("actor", distinct=True)):
        active[row["day"]] += row["n"]
    covering: dict[date, int] = {}
    for chunk in range(0, len(days), 200):
        batch = days[chunk : chunk + 200]
        counts = members.aggregate(
            **{
                f"d{i}": Count("pk", filter=covers_day(day_start, day_end))
                for i, (day_start, day_end) in enumerate(_day_bounds(batch, p.tz))
            }
        )
        covering.update({day: counts[f"d{i}"] for i, day in enumerate(batch)})
    return [(d, active[d], covering[d]) for d in days]


def _active_days(scope: Scope) -> dict:
    """Members active each day (signed in or changed a record) over members covering it:
    the mean of the daily shares tenant-wide; active ÷ covered days per member in team mode."""
    if scope.by_owner:
        visits, changes = _activity_sources(scope)
        return _active_days_by_member(scope.period, visits, changes, Membership.objects.all())
    ratios = [a / m for _, a, m in active_days_series(scope) if m]
    return {ALL: {"dau_sum": sum(ratios), "dau_days": len(ratios)}}


def _day_bounds(days: list[date], tz) -> list[tuple[datetime, datetime]]:
    return [(local_midnight(d, tz), local_midnight(d + timedelta(days=1), tz)) for d in days]


def _active_days_by_member(p: Period, visits, changes, members) -> dict:
    tz = p.tz
    start, end = Value(p.start), Value(p.end)
    first_day = Greatest(Epoch(start), Epoch(TruncDate("created_at", tzinfo=tz)))
    last_day_end = Least(
        Epoch(end),
        Coalesce(Epoch(TruncDate("deactivated_at", tzinfo=tz)) + 86400.0, Epoch(end)),
    )
    days = ExpressionWrapper((last_day_end - first_day) / 86400.0, FloatField())
    covered = Case(
        When(Q(is_active=False, deactivated_at__isnull=True), then=Value(0.0)),
        default=Greatest(days, Value(0.0)),
        output_field=FloatField(),
    )
    out: dict[Any, dict] = {}
    for row in members.order_by().values("user").annotate(covered=Sum(covered)):
        out.setdefault(row["user"], {})["covered_days"] = round(row["covered"] or 0)
    for row in visits.order_by().values("user").annotate(n=Count("day", distinct=True)):
        out.setdefault(row["user"], {})["active_days"] = row["n"]
    for row in changes.order_by().values("actor").annotate(n=Count("day", distinct=True)):
        entry = out.setdefault(row["actor"], {})
        entry["active_days"] = entry.get("active_days", 0) + row["n"]
    return out


# Assembly.


def _ratio(numerator, denominator) -> float | None:
    if not denominator:
        return None
    return float(Decimal(numerator or 0) / Decimal(denominator))


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def _one_decimal(value: float | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _compute(scope: Scope, keys: list) -> dict[Any, dict]:
    p = scope.period
    closed = _closed(scope)
    reps = _members(scope, p.end_at, role=Role.REP, name="reps")
    members_end = _members(scope, p.end_at, name="members")
    retention = _retention(scope)
    leads = _leads(scope)
    has_snapshot, forecast = _forecast(scope)
    targets = _targets(scope)
    activities = _activities(scope)
    required = completeness.required_fields(scope.tenant)
    needs = deal_field_needs(required["deal"], criteria_fields())
    deals_end = _deals_at_end(scope, [name for name, _ in needs])
    hygiene = _hygiene(deals_end)
    automation = _automation(scope)
    complete = [*_completeness(scope, required), _deal_completeness(deals_end, needs)]
    active = _active_days(scope)

    results = {}
    for key in keys:
        c = closed.get(key, {})
        won_revenue = _money(c.get("won_amount"))
        n_reps = reps.get(key, {}).get("reps", 0)
        n_members = members_end.get(key, {}).get("members", 0)
        f = forecast.get(key, {})
        forecast_amount = (Decimal(f.get("weighted_x100") or 0) / 100) if has_snapshot else None
        open_pipeline = _money(f.get("open_pipeline")) if has_snapshot else None
        t = targets.get(key, {})
        target = _money(t.get("target")) if t.get("targets") else None
        ld = leads.get(key, {})
        h = hygiene.get(key, {})
        a = active.get(key, {})
        filled = sum(part.get(key, {}).get("filled", 0) for part in complete)
        required = sum(part.get(key, {}).get("required", 0) for part in complete)
        if scope.by_owner:
            dau = _ratio(a.get("active_days", 0), a.get("covered_days", 0))
        else:
            dau = a["dau_sum"] / a["dau_days"] if a.get("dau_days") else None
        actual = won_revenue
        figures = {
            "close_rate": _ratio(c.get("deals_won"), c.get("deals_closed")),
            "close_rate_value": _ratio(c.get("won_amount"), c.get("closed_amount")),
            "sales_cycle_days": _one_decimal(c.get("cycle_days")),
            "revenue_per_rep": _money(won_revenue / n_reps) if n_reps else None,
            "won_revenue": won_revenue,
            "retention_rate": _ratio(
                retention.get(key, {}).get("customers_kept"),
                retention.get(key, {}).get("customers_at_start"),
            ),
            "lead_response_hours": ld.get("response_median"),
            "forecast_error": (
                float((forecast_amount - actual) / actual)
                if forecast_amount is not None and actual
                else None
            ),
            "forecast_accuracy": (
                max(0.0, 1 - float(abs(actual - forecast_amount) / actual))
                if forecast_amount is not None and actual
                else None
            ),
            "pipeline_coverage": (
                _ratio(open_pipeline, target) if open_pipeline is not None else None
            ),
            "target_attainment": _ratio(won_revenue, target),
            "daily_active_users": dau,
            "data_completeness": _ratio(filled, required),
            "activity_logging_rate": (
                activities.get(key, {}).get("activities", 0) / n_members / (p.days / 7)
                if n_members
                else None
            ),
            "pipeline_hygiene": _ratio(h.get("hygienic_deals"), h.get("open_deals")),
            "stale_deals": h.get("stale_deals") or 0,
            "automation_runs": automation.get(key, {}).get("runs", 0),
            "leads_unanswered": (ld.get("leads") or 0) - (ld.get("leads_answered") or 0),
        }
        inputs = {
            "deals_closed": c.get("deals_closed") or 0,
            "deals_won": c.get("deals_won") or 0,
            "closed_amount": _money(c.get("closed_amount")),
            "reps": n_reps,
            "members_at_end": n_members,
            "customers_at_start": retention.get(key, {}).get("customers_at_start") or 0,
            "customers_kept": retention.get(key, {}).get("customers_kept") or 0,
            "leads": ld.get("leads") or 0,
            "snapshot": has_snapshot,
            "forecast": _money(forecast_amount) if forecast_amount is not None else None,
            "open_pipeline": open_pipeline,
            "target": target,
            "activities": activities.get(key, {}).get("activities", 0),
            "open_deals": h.get("open_deals") or 0,
            "hygienic_deals": h.get("hygienic_deals") or 0,
            "required_fields": required,
            "filled_fields": filled,
        }
        results[key] = {**figures, "inputs": inputs}
    return results


def _id(obj) -> int | None:
    return getattr(obj, "pk", obj)


def compute_scorecard(
    tenant: Tenant,
    *,
    start: date,
    end: date,
    owner: User | int | None = None,
    pipeline: Pipeline | int | None = None,
) -> dict[str, Any]:
    """Every figure of METRICS.md for `tenant` over `[start, end)` (tenant-local dates).

    Returns {figure key: value, ..., "inputs": {...}}: rates as unrounded floats, amounts
    as Decimal, counts as int, None for a zero denominator. Run with `tenant` current.
    """
    scope = Scope(
        tenant=tenant,
        period=Period(start, end, tenant.tz),
        owner_id=_id(owner),
        pipeline_id=_id(pipeline),
    )
    return _compute(scope, [ALL])[ALL]


def team_members(period: Period) -> QuerySet:
    """The reps whose membership covered part of the period: the team table's rows."""
    return (
        Membership.objects.filter(role=Role.REP)
        .filter(covers_day(period.start_at, period.end_at))
        .select_related("user")
    )


def compute_team(
    tenant: Tenant, *, start: date, end: date, pipeline: Pipeline | int | None = None
) -> dict[int, dict[str, Any]]:
    """{user id: scorecard} for every rep of the period, from the same queries grouped by
    owner; each equals `compute_scorecard(..., owner=that rep)`."""
    period = Period(start, end, tenant.tz)
    users = list(team_members(period).values_list("user_id", flat=True))
    scope = Scope(tenant=tenant, period=period, pipeline_id=_id(pipeline), by_owner=True)
    return _compute(scope, users)
