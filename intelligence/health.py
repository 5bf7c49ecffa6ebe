"""Customer health: the facts behind each component, in SQL, and the score, in Python.

A customer's score on day D describes the state at 00:00 of D (tenant time), like
reporting's snapshots, so computing a past day later gives the same number (except for
stale deals, whose definition reads the deals' present stage entry). Each component
turns one fact into a severity between 0 and 1; its points are its share of 100 by the
tenant's weights:

    points = round_half_up(100 × weight × severity ÷ sum of the weights)
    score  = 100 − the sum of the points (never below 0)

| component | fact | severity |
|---|---|---|
| recency | days since the last call, e-mail or meeting | 0 up to 30 days, 1 from 90, linear between; 1 with none on record |
| trend | those activities in the last 90 days against the 90 before | the fall as a fraction (4 against 10: 0.6); 0 with none before |
| overdue_tasks | open tasks on the organization due before the instant | count ÷ 3, at most 1 |
| stale_deals | open deals stale by the jobs' rule (dwell limit or rotting period) | count ÷ 2, at most 1 |
| renewal | days to the end of the current contract, when no renewal deal is open | (90 − days) ÷ 90 between 0 and 1 (an ended contract: 1) |
| lost_deals | deals lost in the last 90 days | count ÷ 2, at most 1 |

`customer_facts` is one query whatever the number of customers (correlated subqueries
annotated on the organizations); `score_of` combines one already aggregated row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from math import floor
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DateField,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import formats

from contacts.models import Activity, Organization, Task
from intelligence.models import COMPONENTS
from pipeline.models import Deal, Pipeline
from pipeline.services.stale import stale_deals, tenant_limits
from reporting.periods import local_midnight

CONTACT_KINDS = [Activity.Kind.CALL, Activity.Kind.EMAIL, Activity.Kind.MEETING]
TREND_DAYS = 90
RECENCY_GRACE_DAYS = 30  # no deduction up to this many days since the last contact
RECENCY_FULL_DAYS = 90  # the whole weight from this many days
OVERDUE_CAP = 3
STALE_CAP = 2
LOST_CAP = 2
RENEWAL_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Facts:
    """One customer's aggregated row: what its health is computed from."""

    organization_id: int
    as_of: datetime
    last_contact_at: datetime | None
    recent: int
    previous: int
    overdue_tasks: int
    stale_deals: int
    contract_end: date | None
    open_ended: bool
    renewal: bool
    lost_deals: int

    @property
    def day(self) -> date:
        return self.as_of.date()


@dataclass(frozen=True)
class Component:
    key: str
    severity: Fraction
    words: str
    value: int | None = None


def customers() -> QuerySet:
    return Organization.objects.live().filter(lifecycle=Organization.Lifecycle.CUSTOMER)


def _count(rows: QuerySet) -> Coalesce:
    counted = rows.order_by().values("organization").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted[:1], output_field=IntegerField()), Value(0))


def customer_facts(orgs: QuerySet, *, day: date, tz: ZoneInfo) -> list[Facts]:
    """The facts of every organization in `orgs` as at 00:00 of `day`: one query."""
    as_of = local_midnight(day, tz)
    recent_from = as_of - timedelta(days=TREND_DAYS)
    previous_from = as_of - timedelta(days=2 * TREND_DAYS)
    contacts = Activity.objects.filter(
        organization=OuterRef("pk"), kind__in=CONTACT_KINDS, occurred_at__lt=as_of
    )
    last_contact = contacts.order_by("-occurred_at").values("occurred_at")[:1]
    overdue = Task.objects.filter(
        Q(done_at__isnull=True) | Q(done_at__gte=as_of),
        Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=as_of),
        organization=OuterRef("pk"),
        created_at__lt=as_of,
        due_at__lt=as_of,
    )
    rotting, dwell = tenant_limits()
    stale = stale_deals(
        Deal.objects.filter(created_at__lt=as_of), now=as_of, rotting=rotting, dwell=dwell
    )
    deals = Deal.objects.filter(organization=OuterRef("pk"))
    # Contracts signed before the instant that had begun by `day`: the current one(s) or
    # the last that ended.
    contracts = deals.filter(
        status=Deal.Status.WON,
        pipeline__kind__in=Pipeline.REVENUE_KINDS,
        closed_at__lt=as_of,
        contract_start__lte=day,
    )
    last_end = (
        contracts.order_by().values("organization").annotate(end=Max("contract_end")).values("end")
    )
    renewal_open = deals.filter(pipeline__kind=Pipeline.Kind.RENEWALS, created_at__lt=as_of).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=as_of)
    )
    next_contract = deals.filter(
        status=Deal.Status.WON,
        pipeline__kind__in=Pipeline.REVENUE_KINDS,
        closed_at__lt=as_of,
        contract_start__gt=day,
    )
    lost = deals.filter(status=Deal.Status.LOST, closed_at__gte=recent_from, closed_at__lt=as_of)
    rows = orgs.order_by("pk").annotate(
        last_contact_at=Subquery(last_contact),
        recent=_count(contacts.filter(occurred_at__gte=recent_from)),
        previous=_count(
            contacts.filter(occurred_at__gte=previous_from, occurred_at__lt=recent_from)
        ),
        overdue_tasks=_count(overdue),
        stale_count=_count(deals.filter(pk__in=stale.values("pk"))),
        contract_end=Subquery(last_end[:1], output_field=DateField()),
        open_ended=Exists(contracts.filter(contract_end__isnull=True)),
        renewal=Exists(renewal_open) | Exists(next_contract),
        lost_deals=_count(lost),
    )
    return [
        Facts(
            organization_id=r["pk"],
            as_of=as_of,
            last_contact_at=r["last_contact_at"],
            recent=r["recent"],
            previous=r["previous"],
            overdue_tasks=r["overdue_tasks"],
            stale_deals=r["stale_count"],
            contract_end=r["contract_end"],
            open_ended=r["open_ended"],
            renewal=r["renewal"],
            lost_deals=r["lost_deals"],
        )
        for r in rows.values(
            "pk",
            "last_contact_at",
            "recent",
            "previous",
            "overdue_tasks",
            "stale_count",
            "contract_end",
            "open_ended",
            "renewal",
            "lost_deals",
        )
    ]


# From facts to components


def _clamp(value: Fraction) -> Fraction:
    return max(Fraction(0), min(Fraction(1), value))


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def recency(f: Facts) -> Component:
    if f.last_contact_at is None:
        return Component("recency", Fraction(1), "no call, e-mail or meeting on record")
    days = (f.as_of - f.last_contact_at).days
    severity = _clamp(Fraction(days - RECENCY_GRACE_DAYS, RECENCY_FULL_DAYS - RECENCY_GRACE_DAYS))
    if severity:
        words = f"no call, e-mail or meeting in {days} days"
    elif days == 0:
        words = "last call, e-mail or meeting today"
    else:
        words = f"last call, e-mail or meeting {_plural(days, 'day', 'days')} ago"
    return Component("recency", severity, words, days)


def trend(f: Facts) -> Component:
    if not f.previous:
        if f.recent:
            words = f"activity up: {f.recent} in the last 90 days, none in the 90 before"
        else:
            words = "no activity in the last 180 days to compare"
        return Component("trend", Fraction(0), words, None)
    severity = _clamp(1 - Fraction(f.recent, f.previous))
    against = f"{f.recent} against {f.previous}"
    if severity:
        percent = floor(severity * 100 + Fraction(1, 2))
        words = f"activity down {percent} % over 90 days ({against})"
        return Component("trend", severity, words, -percent)
    return Component("trend", severity, f"activity steady or up over 90 days ({against})", 0)


def overdue_tasks(f: Facts) -> Component:
    n = f.overdue_tasks
    words = _plural(n, "overdue task", "overdue tasks") if n else "no overdue tasks"
    return Component("overdue_tasks", _clamp(Fraction(n, OVERDUE_CAP)), words, n)


def stale(f: Facts) -> Component:
    n = f.stale_deals
    words = _plural(n, "stale deal", "stale deals") if n else "no stale deals"
    return Component("stale_deals", _clamp(Fraction(n, STALE_CAP)), words, n)


def renewal(f: Facts) -> Component:
    if f.open_ended:
        return Component("renewal", Fraction(0), "contract without an end date")
    if f.contract_end is None:
        return Component("renewal", Fraction(0), "no contract on record")
    days = (f.contract_end - f.day).days
    ends = formats.date_format(f.contract_end, "j M Y")
    if f.renewal:
        return Component(
            "renewal", Fraction(0), f"renewal deal in hand for the contract ending {ends}", days
        )
    severity = _clamp(Fraction(RENEWAL_WINDOW_DAYS - days, RENEWAL_WINDOW_DAYS))
    if days > RENEWAL_WINDOW_DAYS:
        words = f"contract ends in {days} days ({ends})"
    elif days > 0:
        words = f"contract ends in {_plural(days, 'day', 'days')} with no renewal deal"
    elif days == 0:
        words = "contract ends today with no renewal deal"
    else:
        words = f"contract ended {_plural(-days, 'day', 'days')} ago with no renewal deal"
    return Component("renewal", severity, words, days)


def lost(f: Facts) -> Component:
    n = f.lost_deals
    if n:
        words = f"{_plural(n, 'deal', 'deals')} lost in the last 90 days"
    else:
        words = "no deals lost in the last 90 days"
    return Component("lost_deals", _clamp(Fraction(n, LOST_CAP)), words, n)


RULES = [recency, trend, overdue_tasks, stale, renewal, lost]


def points(severity: Fraction, weight: int, total_weight: int) -> int:
    """The component's share of 100 points, rounded half up."""
    if not total_weight:
        return 0
    return floor(Fraction(100 * weight) * severity / total_weight + Fraction(1, 2))


def score_of(f: Facts, weights: dict[str, int]) -> tuple[int, list[dict]]:
    """(score, components as stored and shown) for one customer's facts."""
    total = sum(weights.values())
    parts = []
    for rule in RULES:
        c = rule(f)
        parts.append(
            {
                "key": c.key,
                "label": COMPONENTS[c.key],
                "points": points(c.severity, weights[c.key], total),
                "words": c.words,
                "value": c.value,
            }
        )
    score = max(0, 100 - sum(p["points"] for p in parts))
    return score, parts


def explain(part: dict) -> str:
    """ "no call, e-mail or meeting in 74 days: −20" (or "…: no deduction")."""
    if part["points"]:
        return f"{part['words']}: −{part['points']}"
    return f"{part['words']}: no deduction"
