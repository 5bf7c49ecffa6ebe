"""Celery's queues: every Keel task is routed on purpose to a queue that a worker consumes,
imports never share a queue or a worker with reminders, and docker-compose runs a worker
for every queue. (tests/governance/test_import_queue.py shows it with real workers.)"""

from __future__ import annotations

import fnmatch
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from contacts.tasks import scan_task_reminders, send_task_reminders
from crm.celery import app as celery_app
from governance.services.imports import run_import
from tests.workers import broker, flush_broker, queue_names

COMPOSE = Path(settings.BASE_DIR) / "docker-compose.yml"
# What must never wait behind bulk work, and what is bulk work.
PROMPT = {"contacts.send_task_reminders", "contacts.scan_task_reminders", "api.deliver_webhook"}
BULK = {"governance.run_import", "governance.apply_retention", "api.purge"}


def keel_tasks() -> list[str]:
    celery_app.loader.import_default_modules()
    # Celery's own tasks and the test suite's (tests/crm/test_tenant_task.py) are not Keel's.
    return sorted(name for name in celery_app.tasks if not name.startswith(("celery.", "tests.")))


def queue_of(task: str) -> str:
    return celery_app.amqp.router.route({}, task)["queue"].name


def routed(task: str) -> list[str]:
    """The route entries naming `task` (by name or glob)."""
    return [entry for entry in settings.CELERY_TASK_ROUTES if fnmatch.fnmatchcase(task, entry)]


def test_every_keel_task_is_placed_on_a_queue_on_purpose():
    tasks = keel_tasks()
    assert len(tasks) > 20
    unplaced = [task for task in tasks if not routed(task)]
    assert unplaced == [], f"put these tasks on a queue in KEEL_TASK_QUEUES: {unplaced}"
    for task in tasks:
        assert queue_of(task) in queue_names(), task


def test_every_route_names_a_task_that_exists():
    tasks = keel_tasks()
    stale = [entry for entry in settings.CELERY_TASK_ROUTES if not fnmatch.filter(tasks, entry)]
    assert stale == []


def test_scans_reminders_and_webhooks_never_share_a_queue_with_bulk_work():
    tasks = keel_tasks()
    assert {queue_of(t) for t in tasks if ".scan_" in t} == {"scans"}
    assert {queue_of(t) for t in BULK} == {"bulk"}
    assert "bulk" not in {queue_of(t) for t in PROMPT}
    assert queue_of("mail.sync_mailbox") == "mail"
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "default"


def test_a_worker_without_q_consumes_every_queue():
    assert sorted(celery_app.amqp.queues) == sorted(settings.KEEL_TASK_QUEUES)


@pytest.mark.redis
def test_a_queued_task_waits_in_its_own_queue_in_redis():
    flush_broker()
    try:
        run_import.delay(tenant_id=1, job_id=1)
        send_task_reminders.delay(tenant_id=1)
        scan_task_reminders.delay()
        client = broker()
        assert {name: client.llen(name) for name in queue_names()} == {
            "scans": 1,
            "default": 1,
            "mail": 0,
            "webhooks": 0,
            "bulk": 1,
        }
        assert client.llen("celery") == 0
    finally:
        flush_broker()


# docker-compose.yml


def compose_commands() -> dict[str, list[str]]:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    commands = {name: service.get("command") or [] for name, service in services.items()}
    return {
        name: shlex.split(command) if isinstance(command, str) else command
        for name, command in commands.items()
    }


def compose_workers() -> dict[str, list[str]]:
    """Each worker service of docker-compose and the queues its -Q names."""
    workers = {}
    for name, args in compose_commands().items():
        if args[:4] == ["celery", "-A", "crm", "worker"]:
            assert "-Q" in args, f"{name} must name its queues"
            workers[name] = args[args.index("-Q") + 1].split(",")
    return workers


def test_docker_compose_runs_a_worker_for_every_queue_and_bulk_apart():
    workers = compose_workers()
    consumed = [queue for queues in workers.values() for queue in queues]
    assert sorted(consumed) == sorted(queue_names())  # each queue by exactly one group
    [bulk] = [queues for queues in workers.values() if "bulk" in queues]
    assert bulk == ["bulk"]
    beats = [
        args for args in compose_commands().values() if args[:4] == ["celery", "-A", "crm", "beat"]
    ]
    assert len(beats) == 1  # two beats would send every scan twice
