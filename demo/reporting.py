"""Demo data for `manage.py seed_demo`: what the dashboards need to tell a year's story.

Runs after the contacts and pipeline seeders, on their year of history: revenue targets
(monthly for the team, quarterly for each rep, set a little above what was won), a year
of members' active days (weekdays mostly, some reps keener than others), and the daily
snapshots of the last year reconstructed from the stage history, so the trend lines,
forecast against actual and the forecast error have data from the first visit.
Idempotent: each part is skipped when present (snapshots are only added where missing).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TextIO

from django.db.models import Sum

from crm.models import Membership, Role, Tenant
from pipeline.models import Deal
from reporting.models import MemberActivityDay, RevenueTarget
from reporting.periods import add_months, local_midnight, local_today, month_start
from reporting.services import backfill_snapshots

SEED = 606
DAYS = 365
# How likely each role is to use Keel on a weekday (weekends: a tenth of that).
KEENNESS = {Role.ADMIN: 0.45, Role.MANAGER: 0.9, Role.REP: 0.8}


def seed(*, tenant: Tenant, members: dict[str, Membership], stdout: TextIO) -> None:
    rng = random.Random(SEED)
    today = local_today(tenant.tz)
    # The demo team has worked together all year: their memberships predate the history
    # (members created by seed_demo today would count for no past period).
    since = local_midnight(today - timedelta(days=DAYS + 30), tenant.tz)
    Membership.objects.filter(created_at__gt=since, deactivated_at__isnull=True).update(
        created_at=since
    )
    _targets(tenant, today, stdout)
    _active_days(tenant, today, rng, stdout)
    created = backfill_snapshots(days=DAYS, today=today)
    stdout.write(f"reporting: {created} daily snapshot(s) reconstructed from history")


def _round(amount: Decimal) -> Decimal:
    return (amount / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 1000


def _targets(tenant: Tenant, today: date, stdout: TextIO) -> None:
    if RevenueTarget.objects.exists():
        stdout.write("reporting: targets already present, left as they are")
        return
    first = add_months(month_start(today), -12)
    won = (
        Deal.objects.filter(
            status=Deal.Status.WON,
            pipeline__kind__in=["sales", "renewals"],
            closed_at__gte=local_midnight(first, tenant.tz),
            closed_at__lt=local_midnight(month_start(today), tenant.tz),
        )
        .values("owner")
        .annotate(total=Sum("amount"))
    )
    by_owner = {row["owner"]: row["total"] or Decimal(0) for row in won}
    monthly = sum(by_owner.values(), Decimal(0)) / 12
    if not monthly:
        monthly = Decimal(60_000)
    team_target = _round(monthly * Decimal("1.1"))
    targets = [
        RevenueTarget(tenant=tenant, start=add_months(first, i), end=add_months(first, i + 1), amount=team_target)
        for i in range(15)
    ]  # fmt: skip
    reps = Membership.objects.filter(role=Role.REP, is_active=True).values_list(
        "user_id", flat=True
    )
    quarter = date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
    for user_id in reps:
        share = by_owner.get(user_id, Decimal(0)) / 4  # a quarter of the rep's year
        amount = _round(share * Decimal("1.1")) or Decimal(30_000)
        for q in range(6):
            start = add_months(quarter, 3 * q)
            targets.append(
                RevenueTarget(tenant=tenant, owner_id=user_id, start=start, end=add_months(start, 3), amount=amount)
            )  # fmt: skip
    RevenueTarget.objects.bulk_create(targets)
    stdout.write(f"reporting: {len(targets)} revenue targets")


def _active_days(tenant: Tenant, today: date, rng: random.Random, stdout: TextIO) -> None:
    if MemberActivityDay.objects.exists():
        stdout.write("reporting: member activity already present, left as it is")
        return
    rows = []
    for membership in Membership.objects.filter(is_active=True):
        keen = KEENNESS.get(membership.role, 0.6) * rng.uniform(0.85, 1.1)
        for offset in range(DAYS, 0, -1):
            day = today - timedelta(days=offset)
            chance = keen if day.weekday() < 5 else keen / 10
            if rng.random() < chance:
                rows.append(MemberActivityDay(tenant=tenant, user_id=membership.user_id, day=day))
    MemberActivityDay.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    stdout.write(f"reporting: {len(rows)} member activity days")
