"""State at an instant, reconstructed from timestamps: the point-in-time query builders.

The scorecards (`reporting.scorecards`), the drill-downs, the dashboards' selectors, the
daily snapshots and intelligence all ask "what was true at this instant" through these,
so a deal's stage, dwell, hygiene or customer status at a moment is one definition.
Nothing here knows a scorecard's `Scope`: the builders take querysets and instants.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from pipeline.models import (
    Deal,
    DealActivity,
    DealTask,
    Stage,
    StageTransition,
)
from pipeline.selectors.common import rotting_days
from reporting.periods import local_midnight
from reporting.sql_functions import Epoch, epoch

# Building blocks: state at an instant, reconstructed from timestamps.


def active_at(instant: datetime) -> Q:
    """Memberships active at `instant`: started before it, not deactivated before it."""
    return Q(created_at__lt=instant) & (
        Q(deactivated_at__isnull=True, is_active=True) | Q(deactivated_at__gte=instant)
    )


def covers_day(day_start: datetime, day_end: datetime) -> Q:
    """Memberships that covered any part of [day_start, day_end)."""
    return Q(created_at__lt=day_end) & (
        Q(deactivated_at__isnull=True, is_active=True) | Q(deactivated_at__gte=day_start)
    )


def _last_transition(instant: datetime) -> QuerySet:
    return StageTransition.objects.filter(deal=OuterRef("pk"), at__lt=instant).order_by(
        "-at", "-id"
    )


def with_stage_at(deals: QuerySet, instant: datetime) -> QuerySet:
    """Annotate `stage_at` (stage at `instant`), `entered_at` and their `probability_at`
    and `limit_at` (maximum dwell days) from the last transition before `instant`.

    A deal that entered its current stage before `instant` has not moved since: its
    stage then is its stage now, entered at `stage_entered_at` (move_deal writes the
    transition and `stage_entered_at` together). Only deals moved after `instant` look
    up their transitions: PostgreSQL evaluates these subqueries once per reference, and
    for every deal they cost seconds at 90,000 open deals (bench/NOTES.md)."""
    last = _last_transition(instant)
    settled = Q(stage_entered_at__lt=instant)
    deals = deals.annotate(
        stage_at=Case(
            When(settled, then=F("stage_id")),
            default=Coalesce(Subquery(last.values("to_stage_id")[:1]), F("stage_id")),
            output_field=BigIntegerField(),
        ),
        entered_at=Case(
            When(settled, then=F("stage_entered_at")),
            default=Coalesce(Subquery(last.values("at")[:1]), F("created_at")),
            output_field=DateTimeField(),
        ),
    )
    stage = Stage.objects.filter(pk=OuterRef("stage_at"))
    return deals.annotate(
        probability_at=Case(
            When(settled, then=F("stage__probability")),
            default=Subquery(stage.values("probability")[:1]),
            output_field=IntegerField(),
        ),
        limit_at=Case(
            When(settled, then=F("stage__max_dwell_days")),
            default=Subquery(stage.values("max_dwell_days")[:1]),
            output_field=IntegerField(),
        ),
    )


def _with_dwell(deals: QuerySet, instant: datetime) -> QuerySet:
    """`over_limit`: the deal had exceeded its stage's maximum dwell time at `instant`."""
    seconds = ExpressionWrapper(Value(epoch(instant)) - Epoch("entered_at"), FloatField())
    return deals.annotate(dwell_seconds=seconds).annotate(
        over_limit=Case(
            When(Q(limit_at__isnull=False) & Q(dwell_seconds__gt=F("limit_at") * 86400), then=1),
            default=0,
        )
    )


def task_open_at(instant: datetime) -> Q:
    """The deal had a task open at `instant`: its next action.

    An IN over the deals with such a task, not a correlated EXISTS: PostgreSQL hashes
    the (uncorrelated) list once instead of probing it for each of 90,000 open deals,
    and evaluates the probe again for every figure that uses it (bench/NOTES.md)."""
    open_tasks = (
        DealTask.objects.filter(task__created_at__lt=instant)
        .filter(Q(task__done_at__isnull=True) | Q(task__done_at__gte=instant))
        .filter(Q(task__cancelled_at__isnull=True) | Q(task__cancelled_at__gte=instant))
    )
    return Q(pk__in=open_tasks.values("deal_id"))


def flag(condition: Q) -> Case:
    return Case(
        When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
    )


def rotting_since(end: date, tz) -> datetime:
    """The start of the rotting period before `end`: midnight, `rotting_days` days earlier."""
    return local_midnight(end - timedelta(days=rotting_days()), tz)


def deals_with_activity(since: datetime, until: datetime) -> QuerySet:
    """The ids of deals with an activity in [since, until): an IN list, hashed once."""
    return DealActivity.objects.filter(
        activity__occurred_at__gte=since, activity__occurred_at__lt=until
    ).values("deal_id")


def with_hygiene(deals: QuerySet, instant: datetime, since: datetime) -> QuerySet:
    """Annotate `over_limit`, `has_task`, `recent_activity` and the derived `stale` and
    `hygienic` (1/0) for deals open at `instant` (annotated by `with_stage_at`); `since`
    starts the rotting period."""
    recent = deals_with_activity(since, instant)
    deals = _with_dwell(deals, instant).annotate(
        has_task=flag(task_open_at(instant)),
        recent_activity=flag(Q(pk__in=recent)),
    )
    rotting_q = Q(recent_activity=False) & Q(created_at__lt=since)
    return deals.annotate(
        stale=Case(When(Q(over_limit=1) | rotting_q, then=1), default=0),
        hygienic=Case(When(Q(has_task=True) & Q(over_limit=0), then=1), default=0),
    )


# The same state, aggregated: deals open at an instant counted per stage at that instant.


def stage_limits() -> dict[int, int]:
    """{stage id: maximum dwell days} for the stages that have a limit."""
    return dict(
        Stage.objects.filter(max_dwell_days__isnull=False).values_list("pk", "max_dwell_days")
    )


def over_limit_q(limits: dict[int, int], instant: datetime, stage: str, entered: str) -> Q:
    """The record, in stage `stage` since `entered` (field names), had exceeded that stage's
    maximum dwell time at `instant`: it entered more than the limit's days before it (the
    `dwell_seconds > limit × 86400` of `_with_dwell`). The limits are constants, one
    condition per distinct limit, so the test needs no lookup of the stage. Empty `Q()`
    when no stage has a limit."""
    by_days: dict[int, list[int]] = {}
    for stage_id, days in limits.items():
        by_days.setdefault(days, []).append(stage_id)
    utc = instant.astimezone(UTC)  # days of 86,400 s, not wall-clock days across DST
    q = Q()
    for days, ids in sorted(by_days.items()):
        q |= Q(**{f"{stage}__in": sorted(ids), f"{entered}__lt": utc - timedelta(days=days)})
    return q


def _signed_stage(stage: str, over: Q) -> Case | F:
    """The stage id, negated when `over` holds: the stage and the over-limit flag in one
    value (stage ids are positive)."""
    if not over:
        return F(stage)
    return Case(When(over, then=-F(stage)), default=F(stage), output_field=BigIntegerField())


def stage_key_at(instant: datetime, limits: dict[int, int]) -> Case:
    """Per deal: its stage at `instant`, negated when it had exceeded the stage's maximum
    dwell time then; `with_stage_at`'s reconstruction, in a single expression.

    A deal that entered its current stage before `instant` reads its own columns; one
    moved since looks up its last transition before `instant` once (stage and time from
    the same row), and without one keeps its stage since creation. `with_stage_at`
    annotates the stage, the entry time and the limit separately, and PostgreSQL runs
    a correlated subquery once per reference: 3–40 lookups per moved deal where the
    figures need one (bench/NOTES.md item 7). Grouped by this key, the per-deal
    figures become sums per stage."""
    last = _last_transition(instant).annotate(
        key=_signed_stage("to_stage_id", over_limit_q(limits, instant, "to_stage_id", "at"))
    )
    return Case(
        When(
            stage_entered_at__lt=instant,
            then=_signed_stage(
                "stage_id", over_limit_q(limits, instant, "stage_id", "stage_entered_at")
            ),
        ),
        default=Coalesce(
            Subquery(last.values("key")[:1]),
            _signed_stage("stage_id", over_limit_q(limits, instant, "stage_id", "created_at")),
        ),
        output_field=BigIntegerField(),
    )


def customer_on(day: date) -> Q:
    """Deals that make their organization a customer on `day` (a won contract covering it)."""
    return Q(
        status=Deal.Status.WON,
        contract_start__lte=day,
    ) & (Q(contract_end__isnull=True) | Q(contract_end__gte=day))
