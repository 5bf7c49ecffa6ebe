"""Keel's Prometheus metrics: every metric is defined here, and the apps count through the
small functions below (crm is the lowest layer, so every app may call them).

Multiprocess mode: with PROMETHEUS_MULTIPROC_DIR set (gunicorn's workers, a Celery
worker's pool processes) every process writes its samples to files in that directory
and a scrape adds up all the files (prometheus-client's MultiProcessCollector). The
variable must be set before the process starts, the directory must be emptied before
the server starts (deploy/gunicorn.conf.py does it for gunicorn) and must not be
shared by two servers. Without it a scrape reads the process's own registry.

Who may scrape (`may_scrape`): with METRICS_TOKEN set, a request with
`Authorization: Bearer <METRICS_TOKEN>`, from anywhere; without it, only requests from
loopback or from an address in METRICS_ALLOWED_IPS (addresses or networks).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterable, Iterator

import redis
from django.conf import settings
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROC_DIR:  # the files are created as the metrics below are
    os.makedirs(MULTIPROC_DIR, exist_ok=True)

UNMATCHED = "unmatched"  # the view label of a request no URL pattern matched
BROKER_TIMEOUT = 1.0  # seconds a scrape waits for Redis's queue lengths

REQUEST_SECONDS = Histogram(
    "keel_http_request_duration_seconds",
    "Time to answer a request, by view name and status code.",
    ["view", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REQUEST_QUERIES = Histogram(
    "keel_http_request_queries",
    "Database queries run to answer a request, by view name.",
    ["view"],
    buckets=(0, 1, 2, 5, 10, 20, 30, 50, 100, 200, 500),
)
TASK_SECONDS = Histogram(
    "keel_celery_task_duration_seconds",
    "Time a Celery task ran, by task name (failed runs included).",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600),
)
TASK_FAILURES = Counter(
    "keel_celery_task_failures", "Celery task runs that raised, by task name.", ["task"]
)
TASK_RETRIES = Counter(
    "keel_celery_task_retries", "Celery task runs that asked to be retried, by task name.", ["task"]
)
NOTIFICATIONS = Counter(
    "keel_notifications",
    "Notifications by kind and outcome: created (shown or mailed), digested (folded into "
    "a digest), emailed, suppressed (the member's own action, or both channels off), "
    "duplicate (its key existed).",
    ["kind", "outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "keel_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, failed (to be retried), given_up "
    "(after the last attempt, a failed test ping, or its endpoint disabled).",
    ["outcome"],
)


# Counting: requests and tasks


def observe_request(*, view: str, status: int, seconds: float, queries: int) -> None:
    REQUEST_SECONDS.labels(view=view, status=str(status)).observe(seconds)
    REQUEST_QUERIES.labels(view=view).observe(queries)


def observe_task(*, task: str, seconds: float) -> None:
    TASK_SECONDS.labels(task=task).observe(seconds)


def count_task_failure(*, task: str) -> None:
    TASK_FAILURES.labels(task=task).inc()


def count_task_retry(*, task: str) -> None:
    TASK_RETRIES.labels(task=task).inc()


# Counting: outcomes, as they are decided (a run that rolls back and is retried counts
# twice; counting on commit would add a callback to every transaction that notifies).


def count_notification(*, kind: str, outcome: str, n: int = 1) -> None:
    NOTIFICATIONS.labels(kind=kind, outcome=outcome).inc(n)


def count_webhook_delivery(*, outcome: str, n: int = 1) -> None:
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc(n)


# Scraping


def may_scrape(*, authorization: str, remote_addr: str) -> bool:
    """METRICS_TOKEN as a bearer token when it is set; else loopback or METRICS_ALLOWED_IPS."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    if address.is_loopback:
        return True
    return any(address in ipaddress.ip_network(net, strict=False) for net in _allowed())


def _allowed() -> list[str]:
    return [net for net in settings.METRICS_ALLOWED_IPS if net]


def exposition(*, queues: bool = True) -> tuple[bytes, str]:
    """The text a scrape gets (body, content type); `queues` adds the broker's queue depths."""
    registry = CollectorRegistry()
    if MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    else:
        registry.register(REGISTRY)
    if queues:
        registry.register(QueueDepth())
    return generate_latest(registry), CONTENT_TYPE_LATEST


def queue_names() -> list[str]:
    """Every Celery queue settings name: CELERY_TASK_QUEUES, the routes' and the default."""
    names = [getattr(q, "name", q) for q in getattr(settings, "CELERY_TASK_QUEUES", None) or []]
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    if isinstance(routes, dict):
        names += [r["queue"] for r in routes.values() if isinstance(r, dict) and "queue" in r]
    names.append(getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", None) or "celery")
    return sorted(set(names))


class QueueDepth:
    """Computed at scrape time: LLEN of each Celery queue in the Redis broker (kombu keeps
    a queue's waiting messages in a list named after it). Not a multiprocess metric:
    every process reads the same broker."""

    def collect(self) -> Iterator[Metric]:
        url = settings.CELERY_BROKER_URL
        if not url.startswith(("redis://", "rediss://")):
            return
        up = GaugeMetricFamily("keel_celery_broker_up", "1 when a scrape read the broker's queues.")
        depth = GaugeMetricFamily(
            "keel_celery_queue_length", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        names = queue_names()
        try:
            lengths = _lengths(url, names)
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for name, length in zip(names, lengths, strict=True):
            depth.add_metric([name], length)
        yield up
        yield depth


def _lengths(url: str, names: Iterable[str]) -> list[int]:
    client = redis.Redis.from_url(
        url, socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT
    )
    try:
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
        return [int(n) for n in pipe.execute()]
    finally:
        client.close()
