"""Stale deals: past their stage's maximum dwell time, or idle for the rotting period.

A deal is stale when, strictly after its limit,
- it has been in its stage longer than the stage's `max_dwell_days` (`dwell_due_at`), or
- nothing happened to it for the tenant's rotting period: no activity linked to it and
  no move since `idle_since` (the later of its last linked activity and its entry
  into the stage).
So moving a deal or logging an activity on it clears the stale state.

Alerts: the owner hears once per stage visit (the "limit" step, keyed by
`stage_entered_at`); at twice the limit the managers hear too (the "twice" step). A
deal nobody owns alerts the managers at the first step. Alerts of one scan are grouped:
a member with several gets one digest ("5 deals went stale") leading to their stale
deals.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import DateTimeField, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest

from crm.automation import active_member, log_once, logged, managers, url_for
from crm.models import Automation, NotificationKind, User
from crm.notifications import grouped, notification_key, notify
from crm.tenancy import current_tenant
from pipeline.models import DEFAULT_ROTTING_DAYS, Deal, DealActivity, PipelineSettings, Stage
from pipeline.services.config import pipeline_settings

LIMIT, TWICE = "limit", "twice"


def with_idle_since(deals: QuerySet) -> QuerySet:
    """Annotate `idle_since` (later of the last linked activity and the stage entry) and
    the tenant's `rotting_days`."""
    # With the tenant, the lookup follows the (tenant, deal) index; without it the scan
    # over every tenant (BYPASSRLS, no policy to add it) read the whole table per deal.
    last_activity = (
        DealActivity.unscoped.filter(tenant_id=OuterRef("tenant_id"), deal_id=OuterRef("pk"))
        .order_by("-activity__occurred_at")
        .values("activity__occurred_at")[:1]
    )
    rotting = PipelineSettings.unscoped.filter(tenant_id=OuterRef("tenant_id")).values(
        "rotting_days"
    )[:1]
    return deals.annotate(
        idle_since=Greatest(
            F("stage_entered_at"),
            Coalesce(Subquery(last_activity), F("stage_entered_at"), output_field=DateTimeField()),
        ),
        rotting_days=Coalesce(Subquery(rotting), Value(DEFAULT_ROTTING_DAYS)),
    )


def _past(now: datetime, *, factor: int, rotting: Iterable[int], dwell: Iterable[int]) -> Q:
    """Q: past `factor` times the dwell limit or the rotting period (strictly).

    Starts with what every branch implies (idle_since is never before the stage entry):
    in the stage for longer than the shortest limit. That plain column test discards
    most open deals before the per-deal subqueries run (bench/NOTES.md)."""
    limits = {*rotting, *dwell}
    if not limits:
        return Q(pk__in=[])
    over = Q()
    for days in sorted(set(dwell)):
        over |= Q(
            stage__max_dwell_days=days,
            dwell_due_at__isnull=False,
            stage_entered_at__lt=now - timedelta(days=factor * days),
        )
    for days in sorted(set(rotting)):
        over |= Q(rotting_days=days, idle_since__lt=now - timedelta(days=factor * days))
    return Q(stage_entered_at__lt=now - timedelta(days=factor * min(limits))) & over


def stale_deals(
    deals: QuerySet, *, now: datetime, rotting: Iterable[int], dwell: Iterable[int], factor: int = 1
) -> QuerySet:
    """Open deals stale at `now` (past `factor` times a limit).

    `rotting` and `dwell` list the rotting periods and stage limits (days) in use among
    the tenants concerned; scans pass every value, a tenant its own.
    """
    return with_idle_since(deals.filter(status=Deal.Status.OPEN)).filter(
        _past(now, factor=factor, rotting=rotting, dwell=dwell)
    )


def due_stale_alerts(
    deals: QuerySet, *, now: datetime, rotting: Iterable[int], dwell: Iterable[int]
) -> QuerySet:
    """Open deals with a stale alert due at `now` and not yet sent."""
    rotting, dwell = list(rotting), list(dwell)
    visit = {"subject": OuterRef("pk"), "window": OuterRef("stage_entered_at")}
    first = _past(now, factor=1, rotting=rotting, dwell=dwell) & ~logged(
        Automation.STALE_DEAL, "pipeline.deal", step=LIMIT, **visit
    )
    second = _past(now, factor=2, rotting=rotting, dwell=dwell) & ~logged(
        Automation.STALE_DEAL, "pipeline.deal", step=TWICE, **visit
    )
    return with_idle_since(deals.filter(status=Deal.Status.OPEN)).filter(first | second)


def tenant_limits() -> tuple[list[int], list[int]]:
    """The current tenant's rotting period and the dwell limits of its stages."""
    rotting = [pipeline_settings().rotting_days]
    dwell = list(
        Stage.objects.filter(max_dwell_days__isnull=False)
        .values_list("max_dwell_days", flat=True)
        .distinct()
    )
    return rotting, dwell


def _days(elapsed: timedelta, limit: int) -> str:
    """Whole days ("9 days"), or "over 7 days" while they do not exceed the limit yet."""
    return f"{elapsed.days} days" if elapsed.days > limit else f"over {limit} days"


def _reason(deal: Deal, now: datetime, factor: int) -> str:
    limit = deal.stage.max_dwell_days
    elapsed = now - deal.stage_entered_at
    if deal.dwell_due_at and limit and elapsed > timedelta(days=factor * limit):
        return f"{_days(elapsed, factor * limit)} in {deal.stage.name} (limit {limit})"
    idle = _days(now - deal.idle_since, factor * deal.rotting_days)
    return f"no activity for {idle} (rotting period {deal.rotting_days})"


def _is_past(deal: Deal, now: datetime, factor: int) -> bool:
    limit = deal.stage.max_dwell_days
    if deal.dwell_due_at and limit and now - deal.stage_entered_at > timedelta(days=factor * limit):
        return True
    return now - deal.idle_since > timedelta(days=factor * deal.rotting_days)


def send_stale_alerts(*, now: datetime) -> int:
    """Alert owners (and, at twice the limit, managers) of the current tenant's stale
    deals, once per stage visit and step; returns how many alerts were written."""
    rotting, dwell = tenant_limits()
    deals = (
        due_stale_alerts(Deal.objects.all(), now=now, rotting=rotting, dwell=dwell)
        .select_related("stage", "pipeline")
        .order_by("pk")
    )
    written = 0
    with grouped():
        for deal in deals:
            owner = active_member(deal.owner_id)
            for step, factor in ((LIMIT, 1), (TWICE, 2)):
                if not _is_past(deal, now, factor):
                    continue
                recipients = (
                    [owner] if owner and step == LIMIT else managers(exclude=[deal.owner_id or 0])
                )
                reason = _reason(deal, now, factor)
                written += _alert(deal, step=step, reason=reason, to=recipients)
    return written


def _alert(deal: Deal, *, step: str, reason: str, to: list[User]) -> int:
    url = url_for("pipeline:deal-detail", deal.pk)
    entry = log_once(
        automation=Automation.STALE_DEAL,
        subject=deal,
        window=deal.stage_entered_at,
        step=step,
        user=to[0] if len(to) == 1 else None,
        summary=f"{deal.name}: {reason}" + (" (managers told)" if step == TWICE else ""),
        url=url,
        detail={"stage": deal.stage_id, "recipients": [u.pk for u in to]},
    )
    if entry is None:
        return 0
    visit = deal.stage_entered_at.isoformat()
    tz = current_tenant().tz
    since = deal.stage_entered_at.astimezone(tz).strftime("%d %b %Y")
    stale_list = url_for("pipeline:deal-list")
    for user in to:
        notify(
            recipient=user,
            kind=NotificationKind.STALE_DEAL,
            key=notification_key("stale_deal", f"deal-{deal.pk}", step, visit),
            title=(
                f"Stale deal: {deal.name}"
                if step == LIMIT
                else f"Stale for twice the limit: {deal.name}"
            ),
            body=(
                f"{deal.name} ({deal.pipeline.name}, {deal.stage.name} since {since}): {reason}.\n"
                "Log what happened or move the deal to its next stage."
            ),
            url=url,
            line=f"{deal.name}: {reason}" + (" (twice the limit)" if step == TWICE else ""),
            digest_url=stale_list
            and f"{stale_list}?stale=true" + ("&owner=me" if user.pk == deal.owner_id else ""),
        )
    return 1
