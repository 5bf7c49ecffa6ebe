"""Shared fixtures. Every test module works with two tenants: "acme" (A) and "globex" (B),
each with an admin, a manager and two reps, plus an outsider who belongs to neither."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.test import Client

from crm.models import Membership, Role, Tenant, User
from crm.tenancy import tenant_context
from tests import factories

REQUIRE_SERVICES = os.environ.get("KEEL_REQUIRE_SERVICES") == "1"


def pytest_configure(config):
    if REQUIRE_SERVICES:
        from django.conf import settings

        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            raise pytest.UsageError("KEEL_REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL.")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (KEEL_REQUIRE_SERVICES=1) a skipped test is a failed test."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI, which must run everything: {report.longrepr}"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    no_postgres = connection.vendor != "postgresql"
    no_redis = not settings.CELERY_BROKER_URL.startswith("redis")
    for item in items:
        if no_postgres and "postgres" in item.keywords:
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); runs in CI")
            )
        if no_redis and "redis" in item.keywords:
            item.add_marker(
                pytest.mark.skip(reason="needs Redis (set CELERY_BROKER_URL); runs in CI")
            )


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttling counters and cached figures must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@dataclass
class Org:
    """One tenant and its people."""

    tenant: Tenant
    admin: Membership
    manager: Membership
    rep: Membership
    rep2: Membership

    def client_for(self, membership: Membership) -> Client:
        client = Client()
        client.force_login(membership.user)
        return client

    def url(self, path: str = "") -> str:
        return f"/{self.tenant.slug}/{path}"

    def activate(self):
        """Context manager: this tenant current (inside a transaction, as in requests)."""
        return _activated(self.tenant)


class _activated:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant

    def __enter__(self):
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.ctx = tenant_context(self.tenant)
        return self.ctx.__enter__()

    def __exit__(self, *exc):
        self.ctx.__exit__(*exc)
        return self.atomic.__exit__(*exc)


def _make_org(slug: str, name: str) -> Org:
    tenant = factories.TenantFactory(slug=slug, name=name)
    with transaction.atomic(), tenant_context(tenant):
        people = {
            role_name: factories.MembershipFactory(
                tenant=tenant,
                role=role,
                user__email=f"{role_name}@{slug}.test",
                user__full_name=f"{role_name.title()} {name}",
            )
            for role_name, role in [
                ("admin", Role.ADMIN),
                ("manager", Role.MANAGER),
                ("rep", Role.REP),
                ("rep2", Role.REP),
            ]
        }
    return Org(tenant=tenant, **people)


@pytest.fixture
def org_a(db) -> Org:
    return _make_org("acme", "Acme")


@pytest.fixture
def org_b(db) -> Org:
    return _make_org("globex", "Globex")


@pytest.fixture
def outsider(db) -> User:
    return factories.UserFactory(email="outsider@nowhere.test")


@pytest.fixture
def tenant_a(org_a):
    """Tenant A made current for the test body (inside a transaction)."""
    with org_a.activate():
        yield org_a


@pytest.fixture
def eager():
    """Queued Celery tasks run at once, in the test's process, as a worker would run them
    (a scan's per-tenant tasks included)."""
    from crm.celery import app as celery_app

    conf = celery_app.conf
    before = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = before
