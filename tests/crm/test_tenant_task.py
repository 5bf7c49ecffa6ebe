"""The Celery task base: runs with its tenant set (context and database), leaves none behind."""

import time

import pytest
from django.conf import settings
from django.db import connection

from crm.audit import record_event
from crm.celery import TenantTask
from crm.celery import app as celery_app
from crm.models import AuditEvent, Membership, Tenant
from crm.tenancy import current_tenant, current_tenant_or_none


@celery_app.task(base=TenantTask, name="tests.record_tenant")
def record_tenant(*, tenant_id: int, fail: bool = False) -> dict:
    db_setting = _db_setting()
    tenant = current_tenant()
    record_event(actor=None, verb="test.task_ran", target=tenant)
    if fail:
        raise RuntimeError("boom")
    return {"tenant": tenant.pk, "db_setting": db_setting, "members": Membership.objects.count()}


def _db_setting() -> str:
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.tenant_id', true)")
        return cursor.fetchone()[0] or ""


def test_a_task_runs_inside_its_tenant(org_a, org_b):
    result = record_tenant.apply(kwargs={"tenant_id": org_b.tenant.pk}).get()
    assert result["tenant"] == org_b.tenant.pk
    assert result["members"] == 4
    if connection.vendor == "postgresql":
        assert result["db_setting"] == str(org_b.tenant.pk)
    assert current_tenant_or_none() is None
    assert _db_setting() == ""


def test_a_failing_task_leaves_no_tenant_behind_and_writes_nothing(org_a):
    outcome = record_tenant.apply(kwargs={"tenant_id": org_a.tenant.pk, "fail": True})
    assert outcome.failed()
    assert current_tenant_or_none() is None
    assert _db_setting() == ""
    with org_a.activate():
        assert not AuditEvent.objects.filter(verb="test.task_ran").exists()


def test_a_task_needs_its_tenant_id(org_a):
    with pytest.raises(TypeError):
        record_tenant.apply(kwargs={}, throw=True).get()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_task_under_its_tenant(org_a, org_b):
    from celery.contrib.testing.worker import start_worker

    with start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        record_tenant.delay(tenant_id=org_a.tenant.pk)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if _seen(org_a):
                break
            time.sleep(0.2)
    assert _seen(org_a), "the worker did not record the event under tenant A"
    assert not _seen(org_b)


def _seen(org) -> bool:
    with org.activate():
        return AuditEvent.objects.filter(verb="test.task_ran", target_id=org.tenant.pk).exists()


def test_the_broker_is_what_the_environment_says():
    assert celery_app.conf.broker_url == settings.CELERY_BROKER_URL
    assert celery_app.conf.task_acks_late is True
    assert Tenant  # imported for the worker's model registry
