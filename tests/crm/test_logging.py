"""Logs as JSON lines with the request, tenant and member ids, and the request's id on
the Celery tasks it queues: carried in the message headers to a real worker (another
thread, where the request's context variable is not set)."""

from __future__ import annotations

import io
import json
import logging
import threading
import time

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker

from api import webhooks
from crm import logs
from crm.celery import app as celery_app
from tests.api.test_webhooks import Receiver

# The page's task is registered when its module is imported: before the worker starts,
# which knows only the tasks registered by then (else "unregistered task", by test order).
from tests.crm.urls_logging import log_from_task  # noqa: F401


class Lines:
    """A handler as settings.LOGGING's JSON one (context filter, JSON formatter) on the
    root logger; `.records()` parses what it wrote."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.addFilter(logs.ContextFilter())
        self.handler.setFormatter(logs.JsonFormatter())
        self.lock = threading.Lock()

    def __enter__(self) -> Lines:
        root = logging.getLogger()
        self.level = root.level
        root.addHandler(self.handler)
        root.setLevel(logging.INFO)
        logging.getLogger("keel.access").setLevel(logging.INFO)
        return self

    def __exit__(self, *exc) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.level)
        logging.getLogger("keel.access").setLevel(logging.NOTSET)

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def find(self, message_part: str) -> list[dict]:
        return [r for r in self.records() if message_part in r["message"]]

    def succeeded(self, task: str) -> list[dict]:
        """Celery's own "Task <name>[<id>] succeeded in …" lines."""
        return [r for r in self.find(f"Task {task}[") if "succeeded" in r["message"]]


def test_a_line_is_one_json_object_with_the_bound_ids():
    token = logs.bind(request_id="r-1", tenant_id=7, member_id=9)
    try:
        with Lines() as lines:
            logging.getLogger("tests.logging").warning("hello %s", "world", extra={"rows": 3})
            try:
                raise ValueError("broken")
            except ValueError:
                logging.getLogger("tests.logging").exception("it failed")
    finally:
        logs.reset(token)
    first, second = lines.records()
    assert first["level"] == "WARNING"
    assert first["logger"] == "tests.logging"
    assert first["message"] == "hello world"
    assert (first["request_id"], first["tenant_id"], first["member_id"]) == ("r-1", 7, 9)
    assert first["rows"] == 3
    assert first["ts"].endswith("+00:00")
    assert "ValueError: broken" in second["exception"]
    assert logs.current() == {}


def test_ids_unknown_outside_a_request_are_null():
    with Lines() as lines:
        logging.getLogger("tests.logging").info("no request")
    (record,) = lines.records()
    assert (record["request_id"], record["tenant_id"], record["member_id"]) == (None, None, None)


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("lb-4f2a.99:x_Y", True),
        ("", False),
        ("two words", False),
        ('quote"injection', False),
        ("new\nline", False),
        ("x" * 129, False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_it_is_a_plain_token(incoming, kept):
    answer = logs.sane_request_id(incoming)
    assert (answer == incoming) is kept
    if not kept:
        assert len(answer) == 32 and int(answer, 16) >= 0


def test_a_request_answers_its_id_and_logs_it_with_the_tenant_and_member(org_a):
    client = org_a.client_for(org_a.rep)
    with Lines() as lines:
        response = client.get(org_a.url("notifications/"), HTTP_X_REQUEST_ID="lb-1234")
        fresh = client.get(org_a.url("notifications/"), HTTP_X_REQUEST_ID="not a token")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "lb-1234"
    assert fresh["X-Request-ID"] != "not a token" and len(fresh["X-Request-ID"]) == 32
    first, second = (r for r in lines.records() if r["logger"] == "keel.access")
    assert first["request_id"] == "lb-1234"
    assert second["request_id"] == fresh["X-Request-ID"]
    assert first["tenant_id"] == org_a.tenant.pk
    assert first["member_id"] == org_a.rep.pk
    assert first["view"] == "notification-list"
    assert first["route"] == "/<slug:tenant_slug>/notifications/"
    assert first["path"] is None  # the route, never the path (it may hold a token)
    assert first["status"] == 200 and first["queries"] > 0
    assert logs.current() == {}


@pytest.mark.redis
@pytest.mark.urls("tests.crm.urls_logging")
@pytest.mark.django_db(transaction=True)
def test_the_tasks_a_request_queues_log_its_request_id(org_a, settings):
    """A page logs, then queues a task on commit; a real worker (its own thread, so the
    request's context is not there) runs it: the task's lines, Celery's own included,
    carry the request's id, from the message headers, and the task's tenant. The same
    for a webhook ping queued from the webhooks page (the task Keel queues there)."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    receiver = Receiver()
    with org_a.activate():
        endpoint = webhooks.create_endpoint(
            by=org_a.admin.user, url=receiver.url, events=["contact.created"]
        )
    headers: dict[str, str | None] = {}
    threads: dict[str, int] = {}

    def seen(task_id, task, **kwargs):
        headers[task.name] = getattr(task.request, "keel_request_id", None)
        threads[task.name] = threading.get_ident()

    signals.task_prerun.connect(seen, weak=False)
    client = org_a.client_for(org_a.admin)
    try:
        with (
            start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10),
            Lines() as lines,
        ):
            page = client.get(org_a.url("log-and-queue/"))
            ping = client.post(
                org_a.url(f"settings/webhooks/{endpoint.pk}/test/"),
                HTTP_X_REQUEST_ID="ping-request-1",
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (
                lines.succeeded("tests.log_from_task") and lines.succeeded("api.deliver_webhook")
            ):
                time.sleep(0.2)
    finally:
        signals.task_prerun.disconnect(seen)
        receiver.close()
    assert page.status_code == 200 and ping.status_code in (200, 302)
    request_id = page["X-Request-ID"]
    (view_line,) = lines.find("inside the view")
    assert view_line["request_id"] == request_id
    assert view_line["tenant_id"] == org_a.tenant.pk
    assert view_line["member_id"] == org_a.admin.pk
    (task_line,) = lines.find("inside the task")
    assert task_line["request_id"] == request_id
    assert task_line["tenant_id"] == org_a.tenant.pk
    assert task_line["task"] == "tests.log_from_task"
    (succeeded,) = lines.succeeded("tests.log_from_task")
    assert succeeded["request_id"] == request_id
    # It came through the message: the worker's thread is not the request's.
    assert headers["tests.log_from_task"] == request_id
    assert threads["tests.log_from_task"] != threading.get_ident()
    (delivered,) = lines.succeeded("api.deliver_webhook")
    assert delivered["request_id"] == "ping-request-1"
    assert delivered["tenant_id"] == org_a.tenant.pk
    assert headers["api.deliver_webhook"] == "ping-request-1"
    assert len(receiver.requests) == 1
