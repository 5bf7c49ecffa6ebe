"""Against a real Redis and real Celery workers: a due reminder is delivered exactly once
when the scan runs twice, when two workers race, when a worker dies or a task fails
halfway, and after Redis loses every queued message.

The in-thread worker shares the test's process (its e-mails land in mail.outbox); the
subprocess workers (`celery -A tests.worker_app worker`) use the test database and
write e-mails to files."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.core import mail
from django.db import OperationalError
from django.utils import timezone

from contacts.tasks import scan_task_reminders, send_task_reminders
from crm.celery import app as celery_app
from crm.models import AutomationLog, Notification
from tests import factories
from tests.workers import Workers, flush_broker, queue_drained, wait_for, worker_environment

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, databases=["default", "scanner"]),
]


def _due_task(org):
    now = timezone.now()
    with org.activate():
        return factories.TaskFactory(
            assignee=org.rep.user,
            title="Call back Ada",
            due_at=now + timedelta(minutes=5),
            created_at=now - timedelta(days=1),
        )


def _notices(org) -> list[Notification]:
    with org.activate():
        return list(Notification.objects.filter(kind="task_due"))


class Finished:
    """Counts tasks an in-thread worker finished (any outcome, retries included)."""

    def __init__(self) -> None:
        self.names: Counter = Counter()

    def __call__(self, sender=None, **_kwargs) -> None:
        self.names[sender.name] += 1

    def __enter__(self):
        task_postrun.connect(self, weak=False)
        return self

    def __exit__(self, *exc) -> None:
        task_postrun.disconnect(self)


def _in_thread_worker():
    return start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10)


def test_a_reminder_due_now_is_delivered_once_when_the_scan_runs_twice(org_a, org_b):
    flush_broker()
    _due_task(org_a)
    assert scan_task_reminders() == 1
    assert scan_task_reminders() == 1  # nothing ran yet: the same work is queued twice
    with Finished() as finished, _in_thread_worker():
        assert wait_for(lambda: finished.names["contacts.send_task_reminders"] == 2)
    [notice] = _notices(org_a)
    assert notice.recipient_id == org_a.rep.user.pk and notice.emailed_at is not None
    assert [m.to for m in mail.outbox] == [["rep@acme.test"]]
    assert _notices(org_b) == []


def test_a_task_failing_halfway_is_retried_and_notifies_once(org_a, monkeypatch):
    from contacts.services import reminders

    flush_broker()
    _due_task(org_a)
    original, calls = reminders.notify, []

    def flaky_notify(**kwargs):
        notification = original(**kwargs)
        calls.append(notification.pk)
        if len(calls) == 1:  # the notice is written, the transaction not yet committed
            raise OperationalError("server closed the connection unexpectedly")
        return notification

    monkeypatch.setattr(reminders, "notify", flaky_notify)
    with Finished() as finished, _in_thread_worker():
        scan_task_reminders()
        assert wait_for(lambda: finished.names["contacts.send_task_reminders"] == 2)
    assert len(calls) == 2, "the failed run was retried"
    assert len(_notices(org_a)) == 1
    assert len(mail.outbox) == 1
    with org_a.activate():
        assert AutomationLog.objects.count() == 1


def test_flushing_redis_loses_nothing_the_next_scan_catches_up(org_a):
    flush_broker()
    _due_task(org_a)
    assert scan_task_reminders() == 1
    flush_broker()  # Redis restarted empty: the queued task is gone
    with Finished() as finished, _in_thread_worker():
        time.sleep(1)
        assert finished.names["contacts.send_task_reminders"] == 0
        assert _notices(org_a) == []
        assert scan_task_reminders() == 1  # the database still says it is due
        assert wait_for(lambda: finished.names["contacts.send_task_reminders"] == 1)
        assert scan_task_reminders() == 0
    assert len(_notices(org_a)) == 1
    assert len(mail.outbox) == 1


# Worker processes


@pytest.fixture
def worker_env(tmp_path):
    return worker_environment(tmp_path)


@pytest.fixture
def workers(worker_env, tmp_path):
    env, _ = worker_env
    started = Workers(env, tmp_path)
    yield started
    started.stop()


def _mails(mail_dir: Path) -> list[str]:
    return [
        line
        for path in mail_dir.iterdir()
        for line in path.read_text().splitlines()
        if line.startswith("Subject:")
    ]


@pytest.mark.postgres
def test_two_workers_racing_deliver_a_due_reminder_once(org_a, workers, worker_env):
    _, mail_dir = worker_env
    flush_broker()
    _due_task(org_a)
    workers.start("w1", KEEL_TEST_SLOW_NOTIFY="1")
    workers.start("w2", KEEL_TEST_SLOW_NOTIFY="1")
    for _ in range(6):
        send_task_reminders.delay(tenant_id=org_a.tenant.pk)
    assert wait_for(lambda: _notices(org_a) and queue_drained()), workers.logs()
    time.sleep(1)
    logs = workers.logs()
    assert "w1@" in logs and "w2@" in logs
    assert logs.count("succeeded") == 6, logs
    assert len(_notices(org_a)) == 1
    assert _mails(mail_dir) == ["Subject: [Acme] Due " + _notices(org_a)[0].title[4:]]


@pytest.mark.postgres
def test_a_worker_killed_halfway_is_redelivered_and_notifies_once(
    org_a, workers, worker_env, tmp_path
):
    _, mail_dir = worker_env
    flag = tmp_path / "killed"
    flush_broker()
    _due_task(org_a)
    workers.start("w1", pool="prefork", KEEL_TEST_KILL_ONCE=str(flag))
    send_task_reminders.delay(tenant_id=org_a.tenant.pk)
    assert wait_for(lambda: flag.exists()), workers.logs()
    assert wait_for(lambda: _notices(org_a) and queue_drained()), workers.logs()
    time.sleep(1)
    logs = workers.logs()
    assert "WorkerLostError" in logs or "signal 9" in logs, logs
    assert len(_notices(org_a)) == 1
    assert len(_mails(mail_dir)) == 1
