"""With real worker processes, one on the bulk queue and one on every other queue (as
docker-compose runs them): while a 100,000-row import is running, a reminder that falls
due is sent within the minute, by the other worker, and the import goes on.

The import itself is not waited for (tests/governance/test_import_scale.py measures it);
the workers stop while it is still running and the broker is flushed."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from contacts.tasks import scan_task_reminders
from crm.models import Notification
from crm.tenancy import tenant_context
from governance.models import ImportJob
from governance.services import imports
from tests import factories
from tests.governance.conftest import upload
from tests.governance.test_import_scale import messy_file
from tests.workers import Workers, flush_broker, queue_names, wait_for, worker_environment

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "scanner"]),
]
ROWS = 100_000
LATEST = 60  # seconds from the scan to the reminder


@pytest.fixture
def workers(tmp_path):
    env, _ = worker_environment(tmp_path)
    flush_broker()
    started = Workers(env, tmp_path)
    yield started
    started.stop()
    flush_broker()  # the import's next chunk, which no worker will take now


def _job(org, job: ImportJob) -> ImportJob:
    with transaction.atomic(), tenant_context(org.tenant):
        return ImportJob.objects.get(pk=job.pk)


def _reminders(org) -> list[Notification]:
    with org.activate():
        return list(Notification.objects.filter(kind="task_due"))


def _ran(log: str, task: str) -> int:
    return len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded", log))


def test_a_reminder_falling_due_during_a_large_import_is_sent_within_a_minute(org_a, workers):
    with transaction.atomic(), tenant_context(org_a.tenant):
        job = upload(org_a, messy_file(ROWS))
        imports.start_import(job, by=org_a.admin.user)  # queued on commit
    workers.start("bulk", queues=["bulk"])
    workers.start("rest", queues=[q for q in queue_names() if q != "bulk"])
    # The first chunks are in (the file is prepared); the import has most of its rows ahead.
    assert wait_for(lambda: _job(org_a, job).rows_done > 0, 120), workers.logs()

    now = timezone.now()
    with org_a.activate():
        factories.TaskFactory(
            assignee=org_a.rep.user,
            title="Call back Ada",
            due_at=now + timedelta(minutes=5),
            created_at=now - timedelta(days=1),
        )
    scanned = time.monotonic()
    scan_task_reminders.delay()  # as beat sends it: the scan queues the tenant's work
    assert wait_for(lambda: _reminders(org_a), LATEST), workers.logs()
    waited = time.monotonic() - scanned
    running = _job(org_a, job)

    print(f"\nreminder after {waited:.1f} s; the import at {running.rows_done} of {ROWS} rows")
    assert waited < LATEST
    assert running.status == ImportJob.Status.RUNNING
    assert 0 < running.rows_done < running.rows_total == ROWS
    [reminder] = _reminders(org_a)
    assert reminder.recipient_id == org_a.rep.user.pk
    bulk, rest = workers.log("bulk").read_text(), workers.log("rest").read_text()
    assert _ran(rest, "contacts.scan_task_reminders") == 1
    assert _ran(rest, "contacts.send_task_reminders") == 1
    assert _ran(bulk, "contacts.send_task_reminders") == 0
    assert _ran(bulk, "governance.run_import") >= 1
    assert _ran(rest, "governance.run_import") == 0
