"""Requests and tasks, seen from outside: probes, request ids, metrics, access lines.

Middleware (crm/settings.py MIDDLEWARE):
- `ProbeMiddleware`, first: answers /healthz, /readyz and /metrics before anything else
  runs (no session, no CSRF, no ALLOWED_HOSTS or HTTPS redirect for a probe that calls
  a pod by its address, no tenant lookup, nothing that needs the database).
- `RequestMiddleware`, after WhiteNoise (static files are not requests worth timing): the
  request id (X-Request-ID in and out), latency and queries per request for /metrics,
  one access line per request (logger `keel.access`).
- `MemberMiddleware`, last: adds the tenant and member that TenantMiddleware or
  ApiMiddleware resolved to the log context.

Celery (connected in CrmConfig.ready()): a task published while a request id is bound
carries it in its message headers; the worker binds it, and the task's tenant_id, while
the task runs; task runtime, failures and retries go to /metrics.
"""

from __future__ import annotations

import contextlib
import logging
import logging.config
import os
import threading
import time
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from crm import logs, metrics
from crm.views import system

access_log = logging.getLogger("keel.access")
logger = logging.getLogger(__name__)

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": system.healthz,
    "/readyz": system.readyz,
    "/metrics": system.metrics_view,
}
HEADER = "X-Request-ID"
MESSAGE_HEADER = "keel_request_id"  # the Celery message header carrying the request id


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/") or "/")
        if probe is not None:
            return probe(request)
        return self.get_response(request)


class _QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class RequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = logs.sane_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        token = logs.bind(request_id=request_id)
        try:
            counter = _QueryCounter()
            started = time.perf_counter()
            with contextlib.ExitStack() as stack:
                for connection in connections.all():
                    stack.enter_context(connection.execute_wrapper(counter))
                response = self.get_response(request)
            seconds = time.perf_counter() - started
            view, route = _view_and_route(request)
            metrics.observe_request(
                view=view, status=response.status_code, seconds=seconds, queries=counter.count
            )
            response[HEADER] = request_id
            access_log.info(
                "%s %s %s",
                request.method,
                route or request.path[:200],
                response.status_code,
                extra={
                    "method": request.method,
                    "route": route,
                    "path": None if route else request.path[:200],
                    "view": view,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                    "queries": counter.count,
                    **getattr(request, "log_ids", {}),
                },
            )
            return response
        finally:
            logs.reset(token)


def _view_and_route(request: HttpRequest) -> tuple[str, str | None]:
    """The matched view's name and URL pattern (never the path: it may hold a token).

    A request answered before Django resolved it (a sign-in redirect, an unknown
    workspace's 404) is named by the pattern its path matches."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return metrics.UNMATCHED, None
    return match.view_name or metrics.UNMATCHED, "/" + match.route


class MemberMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = getattr(request, "membership", None)
        if membership is None:
            return self.get_response(request)
        request.log_ids = {"tenant_id": membership.tenant_id, "member_id": membership.pk}
        token = logs.bind(**request.log_ids)
        try:
            return self.get_response(request)
        finally:
            logs.reset(token)


# Celery signal receivers (connected in CrmConfig.ready())

_running: dict[str, tuple[float, object]] = {}  # task id -> (start, log context token)


def keep_django_logging(**kwargs) -> None:
    """setup_logging: Django configured logging from settings.LOGGING already."""
    if not logging.getLogger().handlers:
        logging.config.dictConfig(settings.LOGGING)


def task_published(headers: dict | None = None, **kwargs) -> None:
    """before_task_publish: the request (or task) that queues a task hands on its id."""
    request_id = logs.current().get("request_id")
    if request_id and headers is not None:
        headers[MESSAGE_HEADER] = request_id


def task_started(task_id: str, task, kwargs: dict | None = None, **extra) -> None:
    request = task.request
    request_id = getattr(request, MESSAGE_HEADER, None) or (request.headers or {}).get(
        MESSAGE_HEADER
    )
    token = logs.bind(
        request_id=request_id,  # None in an eager run: the caller's id stays bound
        tenant_id=(kwargs or {}).get("tenant_id"),
        task=task.name,
        task_id=task_id,
    )
    _running[task_id] = (time.perf_counter(), token)


def task_finished(task_id: str, task, **extra) -> None:
    started, token = _running.pop(task_id, (None, None))
    if started is not None:
        metrics.observe_task(task=task.name, seconds=time.perf_counter() - started)
    if token is not None:
        with contextlib.suppress(ValueError):  # bound in another context: nothing to undo
            logs.reset(token)


def task_failed(sender=None, **extra) -> None:
    metrics.count_task_failure(task=getattr(sender, "name", str(sender)))


def task_retried(sender=None, **extra) -> None:
    metrics.count_task_retry(task=getattr(sender, "name", str(sender)))


# A worker's own /metrics (WORKER_METRICS_PORT): its pool processes count tasks, and the
# worker's main process answers Prometheus, with the same access rule as the web's.


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 (the stdlib's signature)
        pass


def worker_metrics_app(environ, start_response):
    allowed = metrics.may_scrape(
        authorization=environ.get("HTTP_AUTHORIZATION", ""),
        remote_addr=environ.get("REMOTE_ADDR", ""),
    )
    if environ.get("PATH_INFO", "/").rstrip("/") not in ("", "/metrics"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found\n"]
    if not allowed:
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"Forbidden\n"]
    body, content_type = metrics.exposition(queues=False)
    start_response("200 OK", [("Content-Type", content_type)])
    return [body]


def start_worker_metrics(**kwargs) -> WSGIServer | None:
    """worker_init: serve the worker's metrics on WORKER_METRICS_PORT (0: off). The
    multiprocess directory is emptied first: it is this worker's alone."""
    port = settings.WORKER_METRICS_PORT
    if not port:
        return None
    if metrics.MULTIPROC_DIR:
        for name in os.listdir(metrics.MULTIPROC_DIR):
            if name.endswith(".db") and _pid_of(name) != os.getpid():
                os.remove(os.path.join(metrics.MULTIPROC_DIR, name))
    # Every interface (containers): may_scrape decides who is answered.
    server = make_server(
        "0.0.0.0",  # noqa: S104  # nosec B104
        port,
        worker_metrics_app,
        server_class=_Server,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, name="keel-metrics", daemon=True).start()
    logger.info("Worker metrics on port %s", port)
    return server


def _pid_of(filename: str) -> int | None:
    stem = filename.rsplit(".", 1)[0]
    tail = stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None
