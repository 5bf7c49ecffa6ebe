"""Reporting's writes: revenue targets, member activity days and daily snapshots."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.audit import diff, record_event
from crm.models import Membership, Tenant, User
from crm.scans import across_tenants
from crm.tenancy import current_tenant
from pipeline.models import Deal
from reporting.models import MemberActivityDay, RevenueTarget, Snapshot, SnapshotDeal
from reporting.periods import local_midnight, local_today
from reporting.point_in_time import with_stage_at
from reporting.scorecards import compute_scorecard

TREND_DAYS = 30  # a snapshot's scorecard covers the 30 days before its day


class FigureEncoder(DjangoJSONEncoder):
    """JSON for figures: amounts as numbers (DjangoJSONEncoder would quote Decimals)."""

    def default(self, o):
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def jsonable(figures: dict) -> dict:
    return json.loads(json.dumps(figures, cls=FigureEncoder))


# Revenue targets


def save_target(
    *,
    by: User,
    start: date,
    end: date,
    amount: Decimal,
    owner: User | None = None,
    target: RevenueTarget | None = None,
) -> RevenueTarget:
    """Create or change a revenue target for `[start, end)`, the team's or one member's.

    Refuses an empty or negative period, a negative amount, an owner who is not a member,
    and a period overlapping another target of the same scope (it would count twice).
    """
    if end <= start:
        raise ValidationError({"end": "The last day must be on or after the first day."})
    if amount is None or amount < 0:
        raise ValidationError({"amount": "Enter an amount of zero or more."})
    if owner is not None and not Membership.objects.filter(user=owner).exists():
        raise ValidationError({"owner": "Choose a member of this workspace."})
    overlapping = RevenueTarget.objects.filter(start__lt=end, end__gt=start)
    overlapping = (
        overlapping.filter(owner=owner) if owner else overlapping.filter(owner__isnull=True)
    )
    if target is not None:
        overlapping = overlapping.exclude(pk=target.pk)
    clash = overlapping.first()
    if clash:
        raise ValidationError(
            {"start": f"This overlaps the target from {clash.start:%-d %b %Y} to "
             f"{clash.last_day:%-d %b %Y}; change that one instead."}
        )  # fmt: skip
    with transaction.atomic():
        verb = "target.updated" if target else "target.created"
        # A new target has no before: its entry lists what was set, not "None → …".
        before = (
            {"start": str(target.start), "end": str(target.end), "amount": str(target.amount)}
            if target
            else {}
        )
        target = target or RevenueTarget(tenant=current_tenant(), created_by=by)
        target.owner, target.start, target.end, target.amount = owner, start, end, amount
        target.updated_at = timezone.now()
        target.save()
        after = {"start": str(start), "end": str(end), "amount": str(amount)}
        record_event(
            actor=by,
            verb=verb,
            target=target,
            changes=diff(before, after),
        )
    return target


def delete_target(target: RevenueTarget, *, by: User) -> None:
    with transaction.atomic():
        record_event(actor=by, verb="target.deleted", target=target)
        target.delete()


# Member activity


def record_member_activity(*, user: User, day: date) -> None:
    """Note that `user` used Keel on `day` (tenant time); a second call changes nothing."""
    MemberActivityDay.objects.bulk_create(
        [MemberActivityDay(tenant=current_tenant(), user=user, day=day)], ignore_conflicts=True
    )


# Snapshots


def take_snapshot(*, day: date, source: str = Snapshot.Source.LIVE) -> tuple[Snapshot, bool]:
    """Freeze the state at 00:00 of `day` (tenant time), once: (snapshot, created).

    The open deals of that instant, each with its stage then (from the transition
    history), that stage's probability, amount, owner and expected close, and the
    tenant-wide scorecard of the 30 days before `day`. A snapshot that exists is left as
    it is, so a retried or duplicated job changes nothing.
    """
    tenant = current_tenant()
    existing = Snapshot.objects.filter(day=day).first()
    if existing:
        return existing, False
    instant = local_midnight(day, tenant.tz)
    figures = compute_scorecard(tenant, start=day - timedelta(days=TREND_DAYS), end=day)
    try:
        with transaction.atomic():
            snapshot = Snapshot.objects.create(
                tenant=tenant, day=day, source=source, scorecard=jsonable(figures)
            )
            _insert_open_deals(snapshot, instant)
    except IntegrityError:  # a concurrent run took it first
        return Snapshot.objects.get(day=day), False
    return snapshot, True


def _insert_open_deals(snapshot: Snapshot, instant) -> None:
    """INSERT … SELECT of the deals open at `instant`: set-based, whatever their number."""
    deals = with_stage_at(Deal.objects.open_at(instant), instant)
    columns = {
        "tenant_id": Value(snapshot.tenant_id),
        "snapshot_id": Value(snapshot.pk),
        "deal_id": F("pk"),
        "pipeline_id": F("pipeline_id"),
        "stage_id": F("stage_at"),
        "owner_id": F("owner_id"),
        "amount": F("amount"),
        "probability": Coalesce(F("probability_at"), Value(0)),
        "expected_close": F("expected_close"),
    }
    # Every column an annotation, in this order, so the SELECT lists them in this order.
    aliases = {f"c{i}_{name}": expr for i, (name, expr) in enumerate(columns.items())}
    sql, params = deals.annotate(**aliases).values_list(*aliases).query.sql_with_params()
    table = connection.ops.quote_name(SnapshotDeal._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {sql}", params)  # noqa: S608  # nosec B608


def take_daily_snapshot(*, now=None) -> tuple[Snapshot, bool]:
    """Today's snapshot (tenant time), for beat's nightly job."""
    return take_snapshot(day=local_today(current_tenant().tz, now))


def backfill_snapshots(*, days: int, today: date | None = None) -> int:
    """Reconstruct the snapshots of the last `days` days (today included) that are missing,
    from the stage history and today's field values; returns how many were created."""
    tenant = current_tenant()
    today = today or local_today(tenant.tz)
    have = set(
        Snapshot.objects.filter(day__gt=today - timedelta(days=days), day__lte=today).values_list(
            "day", flat=True
        )
    )
    created = 0
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        if day in have:
            continue
        _, new = take_snapshot(day=day, source=Snapshot.Source.BACKFILL)
        created += new
    return created


def tenants_due_for_snapshot(now=None) -> list[int]:
    """Active tenants whose local midnight has passed without today's snapshot (one
    set-based query on the scanner connection; `crm.scans` is the only way across)."""
    now = now or timezone.now()
    due = Q(pk__in=[])
    zones = Tenant.objects.filter(is_active=True).values_list("time_zone", flat=True).distinct()
    for zone in zones:
        today = local_today(Tenant(time_zone=zone).tz, now)
        taken = Snapshot.unscoped.filter(tenant=OuterRef("pk"), day=today)
        due |= Q(time_zone=zone) & ~Exists(taken)
    tenants = Tenant.objects.filter(is_active=True).filter(due).values_list("pk", flat=True)
    return sorted(across_tenants(tenants))
