"""The weekly pipeline summary for managers: last week's movement, new, won, lost deals
and the deals stale now, per pipeline.

It is due from Monday at the tenant's digest hour (08:00 by default), in the tenant's
time zone, and sent once per manager (and admin) and week; a week whose Monday was
missed (no worker running) is caught up later that week.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, QuerySet, Sum

from crm.automation import (
    local_midnight,
    log_once,
    logged,
    setting_subquery,
    url_for,
)
from crm.models import DEFAULT_DIGEST_HOUR, Automation, Membership, NotificationKind, Role
from crm.money import format_money
from crm.notifications import notification_key, notify
from crm.tenancy import current_tenant
from pipeline.models import Deal, Pipeline, StageTransition
from pipeline.services.stale import stale_deals, tenant_limits

READERS = [Role.MANAGER, Role.ADMIN]


def week_start(now: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """00:00 on the Monday of `now`'s week, in `tz`."""
    local = now.astimezone(tz)
    return local_midnight(local.date() - timedelta(days=local.weekday()), tz)


def due_weekly_summaries(memberships: QuerySet, *, now: datetime, zones: Iterable[str]) -> QuerySet:
    """Active managers and admins whose summary for this week is due and not yet sent."""
    when = Q()
    for zone in sorted(set(zones)):
        tz = zoneinfo.ZoneInfo(zone)
        local = now.astimezone(tz)
        branch = Q(tenant__time_zone=zone) & ~logged(
            Automation.WEEKLY_SUMMARY,
            "crm.user",
            subject=OuterRef("user_id"),
            window=week_start(now, tz),
        )
        if local.weekday() == 0:
            branch &= Q(digest_hour__lte=local.hour)
        when |= branch
    return (
        memberships.filter(is_active=True, role__in=READERS)
        .annotate(digest_hour=setting_subquery("digest_hour", DEFAULT_DIGEST_HOUR))
        .filter(when)
    )


@dataclass
class PipelineWeek:
    pipeline: Pipeline
    moves: int = 0
    new: int = 0
    new_amount: Decimal = Decimal(0)
    won: int = 0
    won_amount: Decimal = Decimal(0)
    lost: int = 0
    stale: int = 0

    def line(self, currency: str) -> str:
        return (
            f"{self.pipeline.name}: {self.moves} moved · {self.new} new"
            f" ({_money(self.new_amount, currency)}) · {self.won} won"
            f" ({_money(self.won_amount, currency)}) · {self.lost} lost · {self.stale} stale now"
        )


@dataclass
class WeekSummary:
    start: datetime
    end: datetime
    pipelines: list[PipelineWeek] = field(default_factory=list)

    @property
    def won(self) -> int:
        """Deals won in the revenue pipelines (an onboarding "won" is not a sale)."""
        return sum(p.won for p in self.pipelines if p.pipeline.counts_as_revenue)

    @property
    def stale(self) -> int:
        return sum(p.stale for p in self.pipelines)

    def text(self, currency: str) -> str:
        last_day = (self.end - timedelta(days=1)).strftime("%d %b %Y")
        lines = [f"Week of {self.start:%d %b} – {last_day}", ""]
        lines += [p.line(currency) for p in self.pipelines]
        return "\n".join(lines)


def _money(amount: Decimal | None, currency: str) -> str:
    return format_money(amount or 0, currency, whole=True)


def week_summary(*, now: datetime) -> WeekSummary:
    """The figures of the last full week (Monday to Monday, tenant time) per pipeline:
    moves between open stages, deals created, won and lost, and the deals stale now."""
    tz = current_tenant().tz
    end = week_start(now, tz)
    start = local_midnight((end - timedelta(days=1)).date() - timedelta(days=6), tz)
    weeks = {p.pk: PipelineWeek(pipeline=p) for p in Pipeline.objects.order_by("position", "pk")}
    moves = (
        StageTransition.objects.filter(
            at__gte=start, at__lt=end, from_stage__isnull=False, to_stage__kind="open"
        )
        .values("deal__pipeline_id")
        .annotate(n=Count("pk"))
    )
    for row in moves:
        weeks[row["deal__pipeline_id"]].moves = row["n"]
    new = (
        Deal.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("pipeline_id")
        .annotate(n=Count("pk"), amount=Sum("amount"))
    )
    for row in new:
        weeks[row["pipeline_id"]].new, weeks[row["pipeline_id"]].new_amount = (
            row["n"],
            row["amount"],
        )
    closed = (
        Deal.objects.filter(closed_at__gte=start, closed_at__lt=end)
        .values("pipeline_id", "status")
        .annotate(n=Count("pk"), amount=Sum("amount"))
    )
    for row in closed:
        week = weeks[row["pipeline_id"]]
        if row["status"] == Deal.Status.WON:
            week.won, week.won_amount = row["n"], row["amount"]
        else:
            week.lost = row["n"]
    rotting, dwell = tenant_limits()
    stale = (
        stale_deals(Deal.objects.all(), now=now, rotting=rotting, dwell=dwell)
        .values("pipeline_id")
        .annotate(n=Count("pk"))
    )
    for row in stale:
        weeks[row["pipeline_id"]].stale = row["n"]
    return WeekSummary(start=start, end=end, pipelines=list(weeks.values()))


def send_weekly_summaries(*, now: datetime) -> int:
    """Send this week's summary to every manager and admin of the current tenant, once."""
    tenant = current_tenant()
    readers = list(
        due_weekly_summaries(Membership.objects.all(), now=now, zones=[tenant.time_zone])
        .select_related("user")
        .order_by("pk")
    )
    if not readers:
        return 0
    summary = week_summary(now=now)
    body = summary.text(tenant.currency)
    sent = 0
    for membership in readers:
        entry = log_once(
            automation=Automation.WEEKLY_SUMMARY,
            kind="crm.user",
            subject_id=membership.user_id,
            window=summary.end,
            user=membership.user,
            summary=f"Weekly summary to {membership.user}",
            url=url_for("home"),
        )
        if entry is None:
            continue
        notify(
            recipient=membership.user,
            kind=NotificationKind.WEEKLY_SUMMARY,
            key=notification_key(
                "weekly_summary", f"user-{membership.user_id}", "", summary.end.date().isoformat()
            ),
            title=f"Pipeline last week: {summary.won} won, {summary.stale} stale",
            body=body,
            url=entry.url,
        )
        sent += 1
    return sent
