"""Celery tasks of governance: thin wrappers that run a service under the tenant."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from crm.celery import TenantTask
from crm.celery import app as celery_app

logger = logging.getLogger(__name__)


@celery_app.task(base=TenantTask, name="governance.run_import")
def run_import(*, tenant_id: int, job_id: int) -> None:
    """Import one chunk of the job, commit, and queue the next chunk after the commit.

    Each chunk commits with the job's progress, so the progress bar moves and a second
    delivery of this message finds the offset already advanced.
    """
    from governance.services import imports

    try:
        with transaction.atomic():
            more = imports.run_import_chunk(job_id=job_id)
    except Exception as exc:  # the chunk rolled back; say so on the job instead of hanging
        logger.exception("Import %s failed", job_id)
        imports.fail_import(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        return
    if more:
        transaction.on_commit(lambda: run_import.delay(tenant_id=tenant_id, job_id=job_id))


@celery_app.task(name="governance.scan_retention")
def scan_retention() -> int:
    """Beat: queue the retention run of every tenant whose policy is switched on."""
    from crm.scans import fan_out, tenant_ids
    from governance.models import RetentionPolicy

    return fan_out(apply_retention, tenant_ids(RetentionPolicy.unscoped.filter(is_enabled=True)))


@celery_app.task(base=TenantTask, name="governance.apply_retention")
def apply_retention(*, tenant_id: int) -> int:
    from governance.services import privacy

    return privacy.apply_retention_policy(now=timezone.now())
