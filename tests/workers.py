"""Real Celery worker processes for tests (`celery -A tests.worker_app worker`), on the
test's PostgreSQL database and Redis broker, and helpers that look at the broker.

The test modules that start workers (tests/contacts/test_workers.py,
tests/governance/test_import_queue.py) build their `workers` fixture from `Workers` and
`worker_environment`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
WAIT = 30


def broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def flush_broker() -> None:
    broker().flushdb()


def queue_names() -> list[str]:
    return [queue.name for queue in settings.CELERY_TASK_QUEUES]


def queue_drained() -> bool:
    """Nothing waits in any queue and nothing is taken but unacknowledged."""
    client = broker()
    return all(client.llen(name) == 0 for name in queue_names()) and client.hlen("unacked") == 0


def wait_for(condition, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _database_url(alias: str) -> str:
    db = settings.DATABASES[alias]
    user = db["USER"]
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_environment(tmp_path: Path) -> tuple[dict, Path]:
    """Environment for worker subprocesses: the test database, the broker, the test's
    MEDIA_ROOT, mail as files (in the returned folder)."""
    if connection.vendor != "postgresql":
        pytest.skip("worker processes need a database they can share (PostgreSQL)")
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url("default"),
        "DATABASE_SCANNER_URL": _database_url("scanner"),  # beat's scans run in workers too
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EMAIL_URL": f"filemail:///{mail_dir}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DJANGO_DEBUG", None)
    return env, mail_dir


class Workers:
    """Worker processes started one by one (each waits until it is ready), stopped
    together; each logs to <tmp>/<name>.log."""

    def __init__(self, env: dict, tmp: Path) -> None:
        self.env, self.tmp, self.procs = env, tmp, []

    def start(
        self, name: str, *, pool: str = "solo", queues: list[str] | None = None, **extra_env: str
    ) -> None:
        """Start a worker on `queues` (all of them when None, as without -Q)."""
        log = self.log(name)
        cmd = [
            sys.executable, "-m", "celery", "-A", "tests.worker_app", "worker",
            f"--pool={pool}", "--concurrency=1", f"--hostname={name}@%h", "--loglevel=INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if queues:
            cmd.append(f"--queues={','.join(queues)}")
        # The banner and the log lines (on stderr, whatever the log format) in one file.
        with log.open("w") as out:
            proc = subprocess.Popen(  # noqa: S603
                cmd, cwd=ROOT, env={**self.env, **extra_env}, stdout=out, stderr=subprocess.STDOUT
            )
        self.procs.append((proc, log))
        assert wait_for(lambda: log.exists() and "ready." in log.read_text(), 60), (
            f"worker {name} did not start:\n{log.read_text() if log.exists() else ''}"
        )

    def log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def stop(self) -> None:
        for proc, _log in self.procs:
            proc.terminate()
        for proc, _log in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def logs(self) -> str:
        return "\n".join(log.read_text() for _, log in self.procs if log.exists())
