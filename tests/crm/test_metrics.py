"""/metrics: who may scrape, and what it counts (requests and their queries, tasks,
notifications, webhook deliveries, queue depth), in one process and added up across a
real gunicorn's worker processes (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from api import webhooks
from api.models import WebhookDelivery
from crm import metrics
from crm.celery import app as celery_app
from crm.models import NotificationKind
from crm.notifications import grouped, notification_key, notify
from tests.api.test_webhooks import Receiver
from tests.workers import Workers, wait_for, worker_environment

TOKEN = "metrics-test-token"
TASK = "api.dispatch_events"  # a Keel task a test worker runs without any setup
ROOT = Path(settings.BASE_DIR)


@celery_app.task(name="tests.metrics_ok")
def ok_task(*, tenant_id: int | None = None) -> int:
    return 1


@celery_app.task(name="tests.metrics_fail")
def failing_task() -> None:
    raise RuntimeError("the task fails")


def scrape(client: Client | None = None) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of one authorized scrape."""
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


# Who may scrape


def test_metrics_need_the_token_when_one_is_set():
    assert Client().get("/metrics").status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 403  # no scheme
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "keel_http_request_duration_seconds" in response.content.decode()


def test_without_a_token_only_loopback_and_the_allowed_networks_are_answered(settings):
    settings.METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.0.0.7").get("/metrics").status_code == 403
    settings.METRICS_ALLOWED_IPS = ["192.168.1.5", "10.0.0.0/8"]
    assert Client(REMOTE_ADDR="10.0.0.7").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.168.1.5").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="172.16.0.1").get("/metrics").status_code == 403
    # a forwarded address is not the caller's: it could be anything
    forged = Client(REMOTE_ADDR="172.16.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert forged.get("/metrics").status_code == 403


# Requests


def test_a_page_is_timed_by_view_and_status_and_its_queries_counted(org_a):
    client = org_a.client_for(org_a.rep)
    client.get(org_a.url("notifications/"))  # the member's first visit of the day is recorded
    before = scrape()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(org_a.url("notifications/"))
    run = len(queries)  # read now: the next request empties the connection's query log
    assert response.status_code == 200
    after = scrape()
    view = {"view": "notification-list"}
    seconds = "keel_http_request_duration_seconds"
    assert value(after, f"{seconds}_count", **view, status="200") == (
        value(before, f"{seconds}_count", **view, status="200") + 1
    )
    assert value(after, f"{seconds}_sum", **view, status="200") > value(
        before, f"{seconds}_sum", **view, status="200"
    )
    count = "keel_http_request_queries"
    assert value(after, f"{count}_count", **view) == value(before, f"{count}_count", **view) + 1
    assert run > 0
    assert value(after, f"{count}_sum", **view) == value(before, f"{count}_sum", **view) + run


def test_redirects_and_unknown_paths_are_labelled_without_the_path(org_a):
    before = scrape()
    assert Client().get(org_a.url("notifications/")).status_code == 302  # signed out
    assert Client().get("/no/such/page/here/").status_code == 404
    after = scrape()
    name = "keel_http_request_duration_seconds_count"
    assert value(after, name, view="notification-list", status="302") == (
        value(before, name, view="notification-list", status="302") + 1
    )
    assert value(after, name, view="unmatched", status="404") == (
        value(before, name, view="unmatched", status="404") + 1
    )
    assert not any("no/such" in str(labels) for _, labels in after)


def test_probes_and_scrapes_are_not_counted_as_requests():
    before = scrape()
    Client().get("/healthz")
    after = scrape()
    assert sum(v for (n, _), v in after.items() if n.endswith("duration_seconds_count")) == sum(
        v for (n, _), v in before.items() if n.endswith("duration_seconds_count")
    )


# Tasks


def test_a_task_run_is_timed_and_a_failing_one_counted_as_a_failure():
    before = scrape()
    ok_task.apply(kwargs={})
    assert failing_task.apply().failed()
    after = scrape()
    runs = "keel_celery_task_duration_seconds_count"
    assert (
        value(after, runs, task="tests.metrics_ok")
        == value(before, runs, task="tests.metrics_ok") + 1
    )
    assert value(after, runs, task="tests.metrics_fail") == (
        value(before, runs, task="tests.metrics_fail") + 1
    )
    failures = "keel_celery_task_failures_total"
    assert value(after, failures, task="tests.metrics_fail") == (
        value(before, failures, task="tests.metrics_fail") + 1
    )
    assert value(after, failures, task="tests.metrics_ok") == value(
        before, failures, task="tests.metrics_ok"
    )


@pytest.mark.redis
def test_queue_depth_is_read_from_the_broker_at_scrape_time(settings):
    queue = f"keel-test-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_QUEUES = [*(getattr(settings, "CELERY_TASK_QUEUES", None) or []), queue]
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.rpush(queue, "a", "b", "c")
    try:
        samples = scrape()
    finally:
        client.delete(queue)
        client.close()
    assert value(samples, "keel_celery_broker_up") == 1
    assert value(samples, "keel_celery_queue_length", queue=queue) == 3
    for name in metrics.queue_names():  # every queue settings name, the default one too
        assert ("keel_celery_queue_length", frozenset({("queue", name)})) in samples
    assert (
        getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", None) or "celery"
    ) in metrics.queue_names()
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert value(scrape(), "keel_celery_broker_up") == 0


# Outcomes


def test_notification_outcomes_are_counted_by_kind(tenant_a, django_capture_on_commit_callbacks):
    kind = NotificationKind.SYSTEM
    rep, admin = tenant_a.rep.user, tenant_a.admin.user
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        key = notification_key(kind, "metrics-test")
        assert notify(recipient=rep, kind=kind, key=key, title="Hello") is not None
        assert notify(recipient=rep, kind=kind, key=key, title="Hello") is None
        assert notify(recipient=rep, kind=kind, key=key + "-own", title="Me", actor=rep) is None
        with grouped():
            for n in range(3):
                notify(recipient=admin, kind=kind, key=f"{key}-group-{n}", title=f"N{n}")
    after = scrape()

    def delta(outcome: str) -> float:
        name = "keel_notifications_total"
        return value(after, name, kind=kind, outcome=outcome) - value(
            before, name, kind=kind, outcome=outcome
        )

    assert delta("created") == 2  # the lone notice and the digest of three
    assert delta("digested") == 3
    assert delta("emailed") == 2
    assert delta("duplicate") == 1
    assert delta("suppressed") == 1


def test_webhook_delivery_outcomes_are_counted(org_a, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    receiver = Receiver()
    try:
        with org_a.activate():
            endpoint = webhooks.create_endpoint(
                by=org_a.admin.user, url=receiver.url, events=["contact.created"]
            )
        receiver.statuses = [200, 500, 500]
        before = scrape()
        for is_test in (False, False, True):  # delivered, failed (retried later), given up
            with django_capture_on_commit_callbacks(execute=True), org_a.activate():
                delivery = WebhookDelivery.objects.create(
                    endpoint=endpoint,
                    event="contact.created",
                    event_id=f"evt_{uuid.uuid4().hex}",
                    payload={"type": "contact.created"},
                    is_test=is_test,
                    next_attempt_at=timezone.now(),
                )
                webhooks.attempt_delivery(delivery.pk)
        after = scrape()
    finally:
        receiver.close()
    name = "keel_webhook_deliveries_total"
    for outcome in ("delivered", "failed", "given_up"):
        assert value(after, name, outcome=outcome) == value(before, name, outcome=outcome) + 1


# Several processes


def _env(multiproc: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        **extra,
    }


def test_samples_of_several_processes_add_up(tmp_path):
    """Two processes count requests into the directory; a third's scrape sums them."""
    count = (
        "from crm import metrics\n"
        "metrics.observe_request(view='probe', status=200, seconds=0.2, queries=3)\n"
    )
    for _ in range(2):
        subprocess.run(  # noqa: S603 (our interpreter, our code)
            [sys.executable, "-c", count], cwd=ROOT, env=_env(tmp_path), check=True, timeout=60
        )
    read = (
        "import django; django.setup()\n"
        "from crm import metrics\n"
        "print(metrics.exposition(queues=False)[0].decode())\n"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", read],
        cwd=ROOT,
        env=_env(tmp_path),
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    samples = parse(out)
    assert (
        value(samples, "keel_http_request_duration_seconds_count", view="probe", status="200") == 2
    )
    assert value(samples, "keel_http_request_queries_sum", view="probe") == 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback http)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_a_real_gunicorn_with_two_workers_answers_the_sum_of_both(tmp_path):
    """deploy/gunicorn.conf.py as docker-compose runs it: every scrape, whichever worker
    answers it, counts all the requests; the access lines are JSON with their ids."""
    port = _free_port()
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "histogram_999999.db").write_bytes(b"stale")  # an earlier run's
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "crm.wsgi:application",
        ],
        cwd=ROOT,
        env=_env(tmp_path / "metrics", METRICS_TOKEN=TOKEN, LOG_FORMAT="json"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        opener = urllib.request.build_opener(_NoRedirect)
        statuses = []
        for _ in range(20):  # signed out: each a redirect to sign-in, no database needed
            try:
                opener.open(f"{base}/acme/notifications/", timeout=5)  # noqa: S310
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
        assert statuses == [302] * 20
        assert _get(f"{base}/metrics")[0] == 403
        for _ in range(4):
            status, text = _get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}")
            assert status == 200
            samples = parse(text)
            assert (
                value(
                    samples,
                    "keel_http_request_duration_seconds_count",
                    view="notification-list",
                    status="302",
                )
                == 20
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    lines = (tmp_path / "gunicorn.log").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    access = [r for r in records if r["logger"] == "keel.access"]
    assert len(access) == 20
    assert all(r["status"] == 302 and len(r["request_id"]) == 32 for r in access)
    assert len({r["request_id"] for r in access}) == 20
    assert any(r["logger"] == "gunicorn.error" for r in records)  # gunicorn's own, as JSON
    assert [line for line in lines if not line.startswith("{")] == []
    assert not (tmp_path / "metrics" / "histogram_999999.db").exists()


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_a_real_prefork_worker_serves_its_pool_processes_task_metrics(org_a, tmp_path):
    """WORKER_METRICS_PORT: the worker's main process answers for the pool process that
    ran the tasks (its samples reach the main process only through the directory)."""
    env, _ = worker_environment(tmp_path)
    port = _free_port()
    workers = Workers(env, tmp_path)
    stale = tmp_path / "metrics" / "counter_999999.db"
    stale.parent.mkdir()
    stale.write_bytes(b"stale")  # an earlier run's: emptied when the worker starts
    try:
        workers.start(
            "metrics",
            pool="prefork",
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
            WORKER_METRICS_PORT=str(port),
            METRICS_TOKEN=TOKEN,
        )
        celery_app.send_task(TASK, kwargs={"tenant_id": org_a.tenant.pk})
        celery_app.send_task(TASK, kwargs={"tenant_id": 987654321})  # no such tenant: fails
        url = f"http://127.0.0.1:{port}/metrics"

        def runs() -> float:
            status, text = _get(url, Authorization=f"Bearer {TOKEN}")
            assert status == 200, text
            return value(parse(text), "keel_celery_task_duration_seconds_count", task=TASK)

        assert wait_for(lambda: runs() == 2, 30), workers.logs()
        samples = parse(_get(url, Authorization=f"Bearer {TOKEN}")[1])
        assert _get(url)[0] == 403
    finally:
        workers.stop()
    assert value(samples, "keel_celery_task_failures_total", task=TASK) == 1
    assert not stale.exists()


def test_the_grafana_dashboard_reads_only_metrics_keel_exports():
    dashboard = json.loads((ROOT / "deploy" / "grafana-keel.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"keel_[a-z_]+", target["expr"])
    }
    suffixes = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",)}
    exported = {"keel_celery_queue_length", "keel_celery_broker_up"}  # computed at scrape
    for family in REGISTRY.collect():
        if family.name.startswith("keel_"):
            exported |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    assert used, "the dashboard has no queries"
    assert used <= exported, used - exported
    assert {"keel_celery_queue_length", "keel_celery_task_failures_total"} <= used
