"""Celery tasks of governance: thin wrappers that run a service under the tenant.

`governance.run_import` is queued by `start_import`, so it is defined beside it in
governance.services.imports and imported here, where the worker looks for tasks.
"""

from __future__ import annotations

from django.utils import timezone

from crm.celery import TenantTask
from crm.celery import app as celery_app
from crm.scans import fan_out, tenant_ids
from governance.models import RetentionPolicy
from governance.services import privacy
from governance.services.imports import run_import as run_import


@celery_app.task(name="governance.scan_retention")
def scan_retention() -> int:
    """Beat: queue the retention run of every tenant whose policy is switched on."""
    return fan_out(apply_retention, tenant_ids(RetentionPolicy.unscoped.filter(is_enabled=True)))


@celery_app.task(base=TenantTask, name="governance.apply_retention")
def apply_retention(*, tenant_id: int) -> int:
    return privacy.apply_retention_policy(now=timezone.now())
