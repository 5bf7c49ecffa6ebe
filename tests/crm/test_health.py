"""/healthz (the process answers) and /readyz (it can serve: database, migrations, Redis),
against the real services, made to fail for real: a closed port, an unapplied migration."""

from __future__ import annotations

import socket
import threading

import pytest
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from crm import health


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def database_down(monkeypatch, django_db_blocker):
    """The database's address points at a closed port (for connections opened from now on;
    database access is allowed, so what fails is the connection itself)."""
    monkeypatch.setitem(connections.settings["default"], "HOST", "127.0.0.1")
    monkeypatch.setitem(connections.settings["default"], "PORT", str(_closed_port()))
    with django_db_blocker.unblock():
        yield


def test_healthz_answers_while_the_database_is_unreachable(database_down):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.postgres
def test_readyz_names_the_database_when_it_is_unreachable(database_down):
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"].startswith("OperationalError")
    assert body["checks"]["migrations"] != "ok"


def test_probes_need_no_allowed_host_no_https_and_no_session(database_down, settings):
    """A load balancer calls a pod by its address, over plain HTTP, without cookies."""
    settings.ALLOWED_HOSTS = ["keel.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = Client(HTTP_HOST="10.1.2.3:8000").get("/healthz")
    assert response.status_code == 200
    assert not response.cookies
    assert Client(HTTP_HOST="10.1.2.3:8000").head("/healthz/").status_code == 200
    assert Client().post("/healthz").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_readyz_is_ok_when_everything_answers():
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"
    assert body["checks"]["replica"] == "skipped: no replica configured"
    if connection.vendor == "postgresql":  # CI: Redis is the cache and the broker
        assert body["checks"]["redis"] == "ok"
        assert body["checks"]["broker"] == "ok"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_readyz_names_the_broker_when_redis_is_unreachable(settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert "Connection refused" in body["checks"]["broker"]
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_readyz_names_a_migration_that_is_not_applied():
    """The last crm migration recorded as unapplied (as on a process deployed ahead of
    `migrate`); restored afterwards."""
    loader = MigrationLoader(connection)
    app, name = max(node for node in loader.graph.leaf_nodes() if node[0] == "crm")
    recorder = MigrationRecorder(connection)
    recorder.record_unapplied(app, name)
    try:
        response = Client().get("/readyz")
    finally:
        recorder.record_applied(app, name)
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["migrations"] == f"not applied: {app}.{name}"
    assert body["checks"]["database"] == "ok"
    assert Client().get("/readyz").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_check_that_hangs_times_out_and_the_answer_still_comes(settings, monkeypatch):
    settings.READINESS_TIMEOUT = 0.3
    release = threading.Event()
    monkeypatch.setattr(health, "check_migrations", lambda: release.wait(5) and "ok")
    try:
        response = Client().get("/readyz")
    finally:
        release.set()
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "timed out after 0.3 s"
