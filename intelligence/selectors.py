"""Reads: the accounts at risk, one organization's health, the retention tables.

Each answers in a number of queries that does not grow with the number of accounts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Min, Sum, Value
from django.db.models.functions import Coalesce

from contacts.models import Organization, Task
from intelligence import health
from intelligence.models import ChurnState, HealthScore, IntelligenceSettings, Quadrant
from intelligence.values import MONEY, ZERO, value_matrix, with_values
from pipeline.models import Deal, Pipeline
from reporting.periods import Period
from reporting.point_in_time import customer_on

TREND_DAYS = 60


# Accounts at risk


@dataclass
class AtRisk:
    organization: Organization
    revenue_at_risk: Decimal
    score: int | None
    score_day: date | None
    change: int | None  # since `change_since`, the oldest score of the last 30 days
    change_since: date | None
    since: date | None
    reasons: list[str]
    task: Task | None


def at_risk(*, today: date, tz: ZoneInfo) -> list[AtRisk]:
    """Customers in a churn episode, the most revenue first (their current value). One
    that is no longer a customer (lost, merged) leaves the list with its scores.

    Four queries: the organizations with their values and episode, their last 31 days of
    scores, and their follow-up tasks.
    """
    orgs = list(
        with_values(
            health.customers().filter(
                pk__in=ChurnState.objects.filter(at_risk=True).values("organization_id")
            ),
            today=today,
            tz=tz,
        )
        .select_related("owner")
        .order_by(F("current_value").desc(), "name", "pk")
    )
    ids = [o.pk for o in orgs]
    states = {s.organization_id: s for s in ChurnState.objects.filter(organization_id__in=ids)}
    scores: dict[int, list[HealthScore]] = defaultdict(list)
    for s in HealthScore.objects.filter(
        organization_id__in=ids, day__gte=today - timedelta(days=30), day__lte=today
    ).order_by("organization_id", "-day"):
        scores[s.organization_id].append(s)
    tasks = Task.objects.select_related("assignee").in_bulk(
        [s.task_id for s in states.values() if s.task_id]
    )
    found = []
    for org in orgs:
        state, history = states[org.pk], scores.get(org.pk, [])
        latest = history[0] if history else None
        oldest = history[-1] if len(history) > 1 else None
        reasons = [
            health.explain(p)
            for p in sorted(latest.components if latest else [], key=lambda p: -p["points"])
            if p["points"]
        ]
        found.append(
            AtRisk(
                organization=org,
                revenue_at_risk=org.current_value,
                score=latest.score if latest else None,
                score_day=latest.day if latest else None,
                change=latest.score - oldest.score if latest and oldest else None,
                change_since=oldest.day if latest and oldest else None,
                since=state.since,
                reasons=reasons[:3],
                task=tasks.get(state.task_id),
            )
        )
    return found


# One organization's health


@dataclass
class Health:
    latest: HealthScore | None
    history: list[HealthScore]  # oldest first
    state: ChurnState | None
    change: int | None  # since `change_since`: 30 days before the latest, or the oldest
    change_since: date | None
    explained: list[dict] = field(default_factory=list)

    @classmethod
    def none(cls) -> Health:
        """No scores: the organization is not a customer."""
        return cls(latest=None, history=[], state=None, change=None, change_since=None)

    @property
    def sparkline(self) -> str:
        """SVG polyline points (120 × 32, 100 at the top) of the history."""
        if len(self.history) < 2:
            return ""
        first = self.history[0].day
        span = max(1, (self.history[-1].day - first).days)
        return " ".join(
            f"{(s.day - first).days * 120 / span:.1f},{2 + (100 - s.score) * 28 / 100:.1f}"
            for s in self.history
        )


def health_of(org: Organization, *, today: date) -> Health:
    """The organization's last 60 days of scores and its churn state (two queries)."""
    history = list(
        HealthScore.objects.filter(
            organization=org, day__gt=today - timedelta(days=TREND_DAYS), day__lte=today
        ).order_by("day")
    )
    state = ChurnState.objects.filter(organization=org).first()
    latest = history[-1] if history else None
    window = [s for s in history if s.day >= latest.day - timedelta(days=30)] if latest else []
    base = window[0] if len(window) > 1 else None
    explained = [
        {**p, "text": health.explain(p)}
        for p in sorted(latest.components if latest else [], key=lambda p: -p["points"])
    ]
    return Health(
        latest=latest,
        history=history,
        state=state,
        change=latest.score - base.score if base else None,
        change_since=base.day if base else None,
        explained=explained,
    )


# Retention


@dataclass
class RetentionRow:
    label: str
    customers_at_start: int = 0
    customers_kept: int = 0
    revenue_at_start: Decimal = ZERO
    revenue_kept: Decimal = ZERO
    became_customers: int = 0
    link: str = ""

    @property
    def retention(self) -> float | None:
        if not self.customers_at_start:
            return None
        return self.customers_kept / self.customers_at_start

    @property
    def net_revenue_retention(self) -> float | None:
        if not self.revenue_at_start:
            return None
        return float(self.revenue_kept / self.revenue_at_start)

    def add(self, row: dict) -> None:
        self.became_customers += 1
        if row["at_start"]:
            self.customers_at_start += 1
            self.revenue_at_start += row["value_at_start"]
            self.revenue_kept += row["value_at_end"]
            self.customers_kept += bool(row["at_end"])


@dataclass
class Retention:
    period: Period
    total: RetentionRow
    by_segment: list[RetentionRow]
    by_cohort: list[RetentionRow]


def quarter_label(day: date) -> str:
    return f"{day.year} Q{(day.month - 1) // 3 + 1}"


def retention(period: Period, *, today: date, settings: IntelligenceSettings) -> Retention:
    """Retention and net revenue retention over `period`, in total, by value segment
    (today's quadrant) and by cohort (the quarter of the organization's first contract).

    Customers are METRICS.md's (a won deal of a revenue pipeline whose contract covers
    the day), exactly as `retention_rate` counts them: at the period's first day, and
    kept when still customers on its last day. Revenue is the amount of the won deals
    covering the day; net revenue retention is the revenue on the last day of the
    customers at the start ÷ their revenue at the start (expansion counts, churn and
    contraction subtract). Two queries: the organizations' contracts, and the matrix.
    """
    first, last = period.start, period.last_day
    amount = Coalesce("amount", Value(ZERO), output_field=MONEY)
    rows = list(
        Deal.objects.filter(
            status=Deal.Status.WON,
            pipeline__kind__in=Pipeline.REVENUE_KINDS,
            organization__isnull=False,
            contract_start__isnull=False,
        )
        .order_by()
        .values("organization")
        .annotate(
            at_start=Count("pk", filter=customer_on(first)),
            at_end=Count("pk", filter=customer_on(last)),
            value_at_start=Coalesce(
                Sum(amount, filter=customer_on(first)), ZERO, output_field=MONEY
            ),
            value_at_end=Coalesce(Sum(amount, filter=customer_on(last)), ZERO, output_field=MONEY),
            first_contract=Min("contract_start"),
        )
        .filter(first_contract__lte=last)
    )
    matrix = value_matrix(today=today, tz=period.tz, settings=settings)
    quadrant_of = {a.pk: a.quadrant for a in matrix.accounts}
    total = RetentionRow("All customers")
    segments = {q: RetentionRow(label, link=q) for q, label in Quadrant.choices}
    outside = RetentionRow("No longer an account")
    cohorts: dict[str, RetentionRow] = {}
    for row in sorted(rows, key=lambda r: r["first_contract"]):
        total.add(row)
        q = quadrant_of.get(row["organization"])
        (segments[q] if q else outside).add(row)
        label = quarter_label(row["first_contract"])
        cohorts.setdefault(label, RetentionRow(label)).add(row)
    by_segment = [*segments.values()] + ([outside] if outside.became_customers else [])
    return Retention(
        period=period, total=total, by_segment=by_segment, by_cohort=list(cohorts.values())
    )
