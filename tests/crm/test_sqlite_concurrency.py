"""The embedded default serves a small team: `make run`'s processes on one SQLite file.

A real file in a temporary folder (not the test database, which in CI is PostgreSQL):
the subprocesses get their own environment, as `make run` does, so this runs in CI too.
`migrate` on it, then the web server (runserver, threaded), a Celery worker on kombu's
filesystem broker, a stand-in for beat queueing the reminder scan, and five signed-in
sessions of four members reading pages and planning tasks for each other, all at once.
Every task planned is due, so the worker writes a reminder for each while the pages are
being served. Nothing may fail with "database is locked", and nothing may be lost.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings

from tests.crm.sqlite_team import TEAM, TEAM_PASSWORD, TEAM_SLUG

ROOT = Path(settings.BASE_DIR)
LOAD_SECONDS = 15
PAGES = ["", "contacts/", "deals/board/", "deals/", "notifications/bell/", "notifications/"]


def _sqlite_env(tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_SCANNER_URL", "CELERY_BROKER_URL", "REDIS_URL", "KEEL_REQUIRE_SERVICES"}
    }
    for folder in ("broker/queue", "broker/processed", "media"):
        (tmp / folder).mkdir(parents=True, exist_ok=True)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        CELERY_FS_DIR=str(tmp / "broker"),
        MEDIA_ROOT=str(tmp / "media"),
        EMAIL_URL="dummymail://",
        DJANGO_DEBUG="1",  # as in `make run`
        DJANGO_SETTINGS_MODULE="crm.settings",
    )
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return condition()


class Member:
    """One browser session: signs in, then reads pages and plans tasks for a teammate."""

    def __init__(self, base: str, email: str, teammate_id: int) -> None:
        self.base, self.email, self.teammate_id = base, email, teammate_id
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.statuses: list[tuple[str, int]] = []
        self.failures: list[str] = []
        self.tasks_planned = 0

    def _request(self, path: str, data: dict | None = None) -> str:
        body = None
        if data is not None:
            token = next(c.value for c in self.jar if c.name == "csrftoken")
            body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as response:
                self.statuses.append((path, response.status))
                return response.read().decode()
        except urllib.error.HTTPError as exc:
            self.statuses.append((path, exc.code))
            if exc.code >= 500:
                self.failures.append(f"{exc.code} {path}: {exc.read()[:400]!r}")
            return ""
        except OSError as exc:
            self.failures.append(f"{path}: {exc!r}")
            return ""

    def sign_in(self) -> None:
        self._request("/accounts/login/")
        self._request("/accounts/login/", {"username": self.email, "password": TEAM_PASSWORD})

    def work(self, until: float) -> None:
        self.sign_in()
        n = 0
        while time.monotonic() < until:
            n += 1
            if n % 3 == 0:
                due = (
                    datetime.now(UTC)  # the team works in UTC
                    + timedelta(minutes=5)
                ).strftime("%Y-%m-%dT%H:%M")
                page = self._request(
                    f"/{TEAM_SLUG}/tasks/new/",
                    {"title": f"Call back {n}", "due_at": due, "assignee": self.teammate_id},
                )
                if page:
                    self.tasks_planned += 1
            else:
                self._request(f"/{TEAM_SLUG}/{PAGES[n % len(PAGES)]}")


def test_a_team_and_the_worker_share_the_sqlite_file_without_lock_errors(tmp_path):
    env = _sqlite_env(tmp_path)
    python = sys.executable
    migrate = _run(env, "manage.py", "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    # Covering indexes are PostgreSQL's; a newcomer's first migrate prints no warnings.
    assert "W040" not in migrate.stdout + migrate.stderr
    assert "System check identified some issues" not in migrate.stdout + migrate.stderr

    port = _free_port()
    logs = {name: tmp_path / f"{name}.log" for name in ("web", "worker", "beat")}
    processes: list[subprocess.Popen] = []
    members: list[Member] = []

    def start(name: str, command: list[str]) -> subprocess.Popen:
        with logs[name].open("w") as log:
            process = subprocess.Popen(  # noqa: S603
                [python, *command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        processes.append(process)
        return process

    try:
        start("web", ["manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"])
        start(
            "worker",
            ["-m", "celery", "-A", "crm", "worker", "--loglevel=INFO", "--concurrency=2"],
        )
        setup = _run(env, "-m", "tests.crm.sqlite_team", "setup")
        assert setup.returncode == 0, setup.stderr[-3000:]
        ids = json.loads(setup.stdout.strip().splitlines()[-1])

        def web_up() -> bool:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
            except OSError:
                return False
            return True

        assert _wait_for(web_up, 40), logs["web"].read_text()[-3000:]
        assert _wait_for(lambda: " ready." in logs["worker"].read_text(), 40), logs[
            "worker"
        ].read_text()[-3000:]

        until = time.monotonic() + LOAD_SECONDS
        start("beat", ["-m", "tests.crm.sqlite_team", "beat", str(tmp_path / "stop")])
        emails = [email for email, _ in TEAM] + [TEAM[2][0]]  # the rep in a second tab
        members = [
            Member(f"http://127.0.0.1:{port}", email, ids[TEAM[(i + 1) % len(TEAM)][0]])
            for i, email in enumerate(emails)
        ]
        threads = [threading.Thread(target=m.work, args=(until,)) for m in members]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=LOAD_SECONDS + 90)

        (tmp_path / "stop").touch()  # beat queues its last scan and stops
        db = sqlite3.connect(tmp_path / "db.sqlite3")
        planned = sum(m.tasks_planned for m in members)

        def reminded() -> int:  # each task's done-once mark: its reminder went out
            return db.execute(
                "SELECT count(DISTINCT subject_id) FROM crm_automationlog"
                " WHERE automation = 'task_reminder' AND subject_type = 'contacts.task'"
            ).fetchone()[0]

        _wait_for(lambda: processes[-1].poll() is not None and reminded() >= planned, 40)
        queued = list((tmp_path / "broker" / "queue").iterdir())
        stored = db.execute("SELECT count(*) FROM contacts_task").fetchone()[0]
        notices, mode = reminded(), db.execute("PRAGMA journal_mode").fetchone()[0]
        db.close()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    texts = {name: path.read_text() for name, path in logs.items()}
    failures = [f for m in members for f in m.failures]
    assert failures == [], "\n".join(failures[:5]) + texts["web"][-3000:]
    for name, text in texts.items():
        assert "database is locked" not in text, f"{name}:\n{text[-4000:]}"
    assert not re.search(r"raised unexpected|Retry in", texts["worker"]), texts["worker"][-4000:]
    pages = [s for m in members for s in m.statuses if not s[0].startswith("/accounts/")]
    assert len(pages) >= 20 and {status for _, status in pages} <= {200, 302}, pages
    assert planned >= 5 and stored == planned
    assert notices == planned, f"{notices} reminders for {planned} tasks; queue: {queued}"
    assert mode == "wal"
