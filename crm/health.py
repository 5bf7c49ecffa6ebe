"""Readiness: can this process serve requests? (`/readyz`; `/healthz` only says it runs.)

Each check runs in its own thread, all at once, and gets READINESS_TIMEOUT seconds; a
check that has not answered by then fails with "timed out". A check answers "ok",
"skipped: …" (not configured here) or what went wrong; readiness fails when a critical
check did not answer "ok" or "skipped". Nothing here raises.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

OK = "ok"
# Reported but never failing readiness: reads fall back to the primary when the replica
# is down or behind (issue 19 item 2), so taking web processes out would make it worse.
NON_CRITICAL = {"replica"}


def check_database() -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
    return OK


def check_migrations() -> str:
    """Every migration on disk is applied (a process whose code is ahead of the schema
    must not take traffic)."""
    executor = MigrationExecutor(connections["default"])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        return OK
    names = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"not applied: {', '.join(names[:3])}{more}"


def check_replica() -> str:
    """The read replica's hook: skipped until a `replica` database alias is configured
    (DATABASE_REPLICA_URL, issue 19 item 2, fills this with its lag check)."""
    if "replica" not in settings.DATABASES:
        return "skipped: no replica configured"
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT 1")
    return OK


def _ping(url: str) -> str:
    timeout = settings.READINESS_TIMEOUT
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()
    return OK


def _redis_cache_urls() -> list[str]:
    cache = settings.CACHES["default"]
    if not cache["BACKEND"].endswith("RedisCache"):
        return []
    location = cache["LOCATION"]
    return location.split(",") if isinstance(location, str) else list(location)


def checks() -> dict[str, Callable[[], str]]:
    """The checks that apply to this configuration, by the name /readyz answers."""
    found: dict[str, Callable[[], str]] = {
        "database": check_database,
        "migrations": check_migrations,
    }
    cache_urls = _redis_cache_urls()
    if cache_urls:
        found["redis"] = lambda: next((r for r in map(_ping, cache_urls) if r != OK), OK)
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        found["broker"] = lambda: _ping(settings.CELERY_BROKER_URL)
    found["replica"] = check_replica
    return found


def readiness() -> tuple[bool, dict[str, str]]:
    """(ready, {check name: "ok" | "skipped: …" | what failed})."""
    named = checks()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(named))
    try:
        futures = {name: pool.submit(_run, check) for name, check in named.items()}
        concurrent.futures.wait(futures.values(), timeout=settings.READINESS_TIMEOUT)
        results = {
            name: future.result()
            if future.done()
            else f"timed out after {settings.READINESS_TIMEOUT:g} s"
            for name, future in futures.items()
        }
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung check is left behind
    ready = all(
        value == OK or value.startswith("skipped")
        for name, value in results.items()
        if name not in NON_CRITICAL
    )
    return ready, results


def _run(check: Callable[[], str]) -> str:
    try:
        return check()
    except Exception as exc:  # the check's answer is what went wrong, never a 500
        text = str(exc).strip().splitlines()
        return f"{type(exc).__name__}: {text[0] if text else ''}".strip(": ")[:200]
    finally:
        connections.close_all()  # this thread's own connections
