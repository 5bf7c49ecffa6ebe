"""The one module allowed to read across tenants.

Beat's scans find, in one set-based query over every tenant, which tenants have due
work, then hand each tenant's share to a `TenantTask` that runs under that tenant.
On PostgreSQL the queries here use the `scanner` connection, whose role has
BYPASSRLS; nothing else may use that connection (a test enforces it). Scans read ids
and counts only; every write happens in the per-tenant task, behind the policies.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import Task
from django.db import models

SCANNER = "scanner"


def across_tenants(queryset: models.QuerySet) -> models.QuerySet:
    """Run an `unscoped` queryset on the scanner connection (sees every tenant)."""
    return queryset.using(SCANNER)


def tenant_ids(queryset: models.QuerySet) -> list[int]:
    """The distinct tenants that have rows in `queryset` (built on `Model.unscoped`)."""
    # order_by(): a model's default ordering would join DISTINCT and return a row per match.
    ids = across_tenants(queryset).order_by().values_list("tenant_id", flat=True).distinct()
    return sorted(set(ids))


def fan_out(task: Task, tenants: Iterable[int], **kwargs) -> int:
    """Queue `task` once per tenant; returns how many were queued."""
    count = 0
    for tenant_id in tenants:
        task.delay(tenant_id=tenant_id, **kwargs)
        count += 1
    return count
