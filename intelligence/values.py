"""Value segmentation: each account's current and potential value, and its quadrant.

- Current value: the larger of the revenue won over the last 365 days and the value of
  the contracts active today (won deals whose contract covers today, as METRICS.md's
  "customer on day D"); the larger, not the sum, so a deal won this year on a contract
  running today counts once.
- Potential value: the open weighted pipeline (amount × stage probability) plus the
  potential estimate set on the account.
Both count the revenue pipelines only (sales and renewals), as the scorecards do.

An *account* is a live organization that is a customer or has some current or potential
value. The quadrant thresholds are the tenant's, or else the medians over the accounts
with a positive value on that axis; a value is high when it is positive and at or above
its threshold.

Everything here is a few SQL queries whatever the number of accounts: the values are
correlated subqueries annotated on the organizations, and the medians are taken in
Python over the already aggregated rows (one per account).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest

from contacts.models import Organization
from crm.tenancy import current_tenant
from intelligence.models import AccountPotential, IntelligenceSettings, Quadrant
from pipeline.models import Deal, Pipeline
from reporting.periods import local_midnight
from reporting.point_in_time import customer_on

MONEY = DecimalField(max_digits=20, decimal_places=2)
ZERO = Decimal(0)
HUNDRED = Decimal(100)
WON_WINDOW_DAYS = 365

QUADRANT_HELP = {
    Quadrant.INVEST: "High value today and more to win: put your best people here.",
    Quadrant.PROTECT: "High value today, little more to win: keep them happy and renewing.",
    Quadrant.DEVELOP: "Little value today, much to win: grow the relationship.",
    Quadrant.SERVE: "Little value today and little more to win: serve them efficiently.",
}


def _sum(deals: QuerySet, expression) -> Coalesce:
    total = deals.order_by().values("organization").annotate(total=Sum(expression)).values("total")
    return Coalesce(Subquery(total[:1], output_field=MONEY), Value(ZERO), output_field=MONEY)


def with_values(orgs: QuerySet, *, today: date, tz: ZoneInfo) -> QuerySet:
    """Annotate `current_value`, `potential_x100` (potential value × 100, kept whole so SQL
    compares it exactly) and their parts on organizations."""
    revenue = Deal.objects.filter(
        organization=OuterRef("pk"), pipeline__kind__in=Pipeline.REVENUE_KINDS
    )
    won = revenue.filter(
        status=Deal.Status.WON,
        closed_at__gte=local_midnight(today - timedelta(days=WON_WINDOW_DAYS), tz),
    )
    weighted_x100 = ExpressionWrapper(
        Coalesce(F("amount"), Value(ZERO)) * F("stage__probability"), output_field=MONEY
    )
    estimate = AccountPotential.objects.filter(organization=OuterRef("pk")).values("estimate")
    return orgs.annotate(
        won_12m=_sum(won, "amount"),
        contract_value=_sum(revenue.filter(customer_on(today)), "amount"),
        weighted_x100=_sum(revenue.filter(status=Deal.Status.OPEN), weighted_x100),
        potential_estimate=Coalesce(
            Subquery(estimate[:1], output_field=MONEY), Value(ZERO), output_field=MONEY
        ),
    ).annotate(
        current_value=Greatest("won_12m", "contract_value", output_field=MONEY),
        potential_x100=ExpressionWrapper(
            F("weighted_x100") + F("potential_estimate") * HUNDRED, output_field=MONEY
        ),
    )


def account_q() -> Q:
    """Among organizations annotated by `with_values`: the accounts."""
    return (
        Q(lifecycle=Organization.Lifecycle.CUSTOMER)
        | Q(current_value__gt=0)
        | Q(potential_x100__gt=0)
    )


def accounts(*, today: date, tz: ZoneInfo) -> QuerySet:
    return with_values(Organization.objects.live(), today=today, tz=tz).filter(account_q())


def intelligence_settings() -> IntelligenceSettings:
    """The current tenant's settings (an unsaved row with the defaults when it has none)."""
    found = IntelligenceSettings.objects.first()
    return found if found is not None else IntelligenceSettings(tenant=current_tenant())


@dataclass(frozen=True)
class Thresholds:
    current: Decimal
    potential: Decimal
    current_is_median: bool
    potential_is_median: bool


def _median(values: list[Decimal]) -> Decimal:
    """The median of the positive values: with many accounts at 0 (prospects with pipeline
    only, customers on old contracts) the plain median would be 0 and any value high."""
    positive = [v for v in values if v > 0]
    return Decimal(statistics.median(positive)) if positive else ZERO


def thresholds_from(
    settings: IntelligenceSettings, values: list[tuple[Decimal, Decimal]]
) -> Thresholds:
    """The tenant's thresholds, each the median of the positive `values` ((current,
    potential) of every account) when the tenant has not set it."""
    current, potential = settings.current_threshold, settings.potential_threshold
    return Thresholds(
        current=current if current is not None else _median([c for c, _ in values]),
        potential=potential if potential is not None else _median([p for _, p in values]),
        current_is_median=current is None,
        potential_is_median=potential is None,
    )


def thresholds(settings: IntelligenceSettings, *, today: date, tz: ZoneInfo) -> Thresholds:
    """The thresholds in force (one query over the accounts when a median is needed)."""
    if settings.current_threshold is not None and settings.potential_threshold is not None:
        return thresholds_from(settings, [])
    rows = accounts(today=today, tz=tz).values_list("current_value", "potential_x100")
    return thresholds_from(settings, [(c, p / HUNDRED) for c, p in rows])


def quadrant(current: Decimal, potential: Decimal, t: Thresholds) -> str:
    """Invest (high, high), protect (high, low), develop (low, high), serve (low, low)."""
    high_current = current > 0 and current >= t.current
    high_potential = potential > 0 and potential >= t.potential
    if high_current:
        return Quadrant.INVEST if high_potential else Quadrant.PROTECT
    return Quadrant.DEVELOP if high_potential else Quadrant.SERVE


def quadrant_q(name: str, t: Thresholds) -> Q:
    """The same rule in SQL, over organizations annotated by `with_values`."""
    high_current = Q(current_value__gt=0, current_value__gte=t.current)
    high_potential = Q(potential_x100__gt=0, potential_x100__gte=t.potential * HUNDRED)
    return {
        Quadrant.INVEST: high_current & high_potential,
        Quadrant.PROTECT: high_current & ~high_potential,
        Quadrant.DEVELOP: ~high_current & high_potential,
        Quadrant.SERVE: ~high_current & ~high_potential & account_q(),
    }[name]


@dataclass(frozen=True)
class Account:
    pk: int
    name: str
    lifecycle: str
    owner_name: str
    current: Decimal
    potential: Decimal
    weighted_pipeline: Decimal
    estimate: Decimal
    quadrant: str


@dataclass(frozen=True)
class Matrix:
    accounts: list[Account]
    thresholds: Thresholds

    def by_quadrant(self) -> dict[str, list[Account]]:
        grouped: dict[str, list[Account]] = {q: [] for q in Quadrant.values}
        for account in self.accounts:
            grouped[account.quadrant].append(account)
        return grouped


def value_matrix(*, today: date, tz: ZoneInfo, settings: IntelligenceSettings) -> Matrix:
    """Every account with its values and quadrant: one query, medians in Python."""
    rows = list(
        accounts(today=today, tz=tz)
        .order_by("-current_value", "name", "pk")
        .values(
            "pk",
            "name",
            "lifecycle",
            "owner__full_name",
            "owner__email",
            "current_value",
            "potential_x100",
            "weighted_x100",
            "potential_estimate",
        )
    )
    values = [(r["current_value"], r["potential_x100"] / HUNDRED) for r in rows]
    t = thresholds_from(settings, values)
    found = [
        Account(
            pk=r["pk"],
            name=r["name"],
            lifecycle=r["lifecycle"],
            owner_name=r["owner__full_name"] or (r["owner__email"] or ""),
            current=r["current_value"],
            potential=potential,
            weighted_pipeline=r["weighted_x100"] / HUNDRED,
            estimate=r["potential_estimate"],
            quadrant=quadrant(r["current_value"], potential, t),
        )
        for r, (_, potential) in zip(rows, values, strict=True)
    ]
    return Matrix(accounts=found, thresholds=t)


def account_of(org: Organization, *, today: date, tz: ZoneInfo) -> Account | None:
    """One organization's values (one query), None when it is not an account; its
    `quadrant` is left empty for `placed` to fill in."""
    row = (
        with_values(Organization.objects.filter(pk=org.pk), today=today, tz=tz)
        .values("current_value", "potential_x100", "weighted_x100", "potential_estimate")
        .first()
    )
    if row is None:
        return None
    current, potential = row["current_value"], row["potential_x100"] / HUNDRED
    if not (org.lifecycle == Organization.Lifecycle.CUSTOMER or current > 0 or potential > 0):
        return None
    return Account(
        pk=org.pk,
        name=org.name,
        lifecycle=org.lifecycle,
        owner_name=str(org.owner) if org.owner_id else "",
        current=current,
        potential=potential,
        weighted_pipeline=row["weighted_x100"] / HUNDRED,
        estimate=row["potential_estimate"],
        quadrant="",
    )


def placed(account: Account, t: Thresholds) -> Account:
    return replace(account, quadrant=quadrant(account.current, account.potential, t))
