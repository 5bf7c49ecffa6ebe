"""Celery tasks of pipeline's automations: stale-deal alerts, renewal notices, the weekly
summary. Scans find the tenants with due work in one query over all tenants (crm.scans)
and queue one per-tenant task each; see contacts.tasks for the pattern and the base."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from contacts.tasks import SCAN_OPTIONS, AutomationTask
from crm.automation import tenant_time_zones
from crm.celery import app as celery_app
from crm.models import Membership
from crm.scans import across_tenants, fan_out, tenant_ids
from pipeline.models import DEFAULT_ROTTING_DAYS, Deal, PipelineSettings, RenewalOffset, Stage
from pipeline.services import renewals, stale, summary


def _all_limits() -> tuple[set[int], set[int]]:
    """Every rotting period and stage dwell limit in use, across tenants (few values)."""
    rotting = across_tenants(
        PipelineSettings.unscoped.values_list("rotting_days", flat=True).distinct()
    )
    dwell = across_tenants(
        Stage.unscoped.filter(max_dwell_days__isnull=False)
        .values_list("max_dwell_days", flat=True)
        .distinct()
    )
    return {*rotting, DEFAULT_ROTTING_DAYS}, set(dwell)


# Stale deals


@celery_app.task(base=AutomationTask, name="pipeline.send_stale_alerts")
def send_stale_alerts(*, tenant_id: int) -> int:
    return stale.send_stale_alerts(now=timezone.now())


@shared_task(name="pipeline.scan_stale_deals", **SCAN_OPTIONS)
def scan_stale_deals() -> int:
    """Every five minutes: tenants with a deal past a limit and not yet alerted."""
    rotting, dwell = _all_limits()
    due = stale.due_stale_alerts(
        Deal.unscoped.filter(tenant__is_active=True),
        now=timezone.now(),
        rotting=rotting,
        dwell=dwell,
    )
    return fan_out(send_stale_alerts, tenant_ids(due))


# Renewals


@celery_app.task(base=AutomationTask, name="pipeline.send_renewal_notices")
def send_renewal_notices(*, tenant_id: int) -> int:
    return renewals.send_renewal_notices(now=timezone.now())


@shared_task(name="pipeline.scan_renewals", **SCAN_OPTIONS)
def scan_renewals() -> int:
    """Every five minutes: tenants with a renewal notice due (in their own calendar)."""
    offsets = across_tenants(RenewalOffset.unscoped.values_list("days", flat=True).distinct())
    due = renewals.due_renewal_notices(
        Deal.unscoped.filter(tenant__is_active=True),
        now=timezone.now(),
        zones=tenant_time_zones(),
        offsets=offsets,
    )
    return fan_out(send_renewal_notices, tenant_ids(due))


# The weekly summary


@celery_app.task(base=AutomationTask, name="pipeline.send_weekly_summaries")
def send_weekly_summaries(*, tenant_id: int) -> int:
    return summary.send_weekly_summaries(now=timezone.now())


@shared_task(name="pipeline.scan_weekly_summaries", **SCAN_OPTIONS)
def scan_weekly_summaries() -> int:
    """Every fifteen minutes: tenants whose managers' summary for this week is due."""
    due = summary.due_weekly_summaries(
        Membership.unscoped.filter(tenant__is_active=True),
        now=timezone.now(),
        zones=tenant_time_zones(),
    )
    return fan_out(send_weekly_summaries, tenant_ids(due))
