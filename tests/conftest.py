"""Shared fixtures. Every test module works with two tenants: "acme" (A) and "globex" (B),
each with an admin, a manager and two reps, plus an outsider who belongs to neither.

Every test that uses the database also finds a third tenant, "umbrella", with rows of every
main kind (`other_tenant`, autouse): a service or selector that forgets its tenant filter
shows them and fails the test, whether or not the module asked for a second tenant."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from crm.models import Membership, Role, Tenant, User
from crm.tenancy import tenant_context
from tests import factories

# The automation tests' clock and send fixtures, shared by every app's tests.
pytest_plugins = ["tests.automation"]

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


OTHER_SLUG = "umbrella"


@dataclass
class Other:
    """The background tenant's rows a test may look for (ids, so nothing is read lazily
    outside its tenant)."""

    tenant: Tenant
    member_ids: list[int]
    organization_ids: list[int]
    contact_ids: list[int]
    activity_ids: list[int]
    task_ids: list[int]
    deal_ids: list[int]
    notification_ids: list[int]
    field_key: str
    fingerprint: set[tuple] = field(default_factory=set)


def _seed_other_tenant() -> Other:
    """One cheap seed of another tenant: members, organizations and contacts with custom
    field values, activities, open and done tasks, open, won and lost deals with their
    transitions in the default sales pipeline, a notification, a consent and a saved view.

    Reminders, stale alerts and renewals have nothing to do for it (tasks fall due in ten
    years, the open deal is fresh, no contract ends); the scans that visit every tenant
    each day or week (health scores, snapshots, weekly summaries) visit it too, and their
    tests count it through `other_tenant`."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils.module_loading import import_string

    from contacts.models import Activity, Organization
    from crm.models import Notification, NotificationKind
    from pipeline.models import Deal, LostReason, Pipeline, StageTransition

    now = timezone.now()
    later = now + timedelta(days=3650)
    tenant = factories.TenantFactory(slug=OTHER_SLUG, name="Umbrella", time_zone="Europe/Berlin")
    with transaction.atomic(), tenant_context(tenant):
        admin, rep = (
            factories.MembershipFactory(
                tenant=tenant,
                role=role,
                user__email=f"{name}@umbrella.test",
                user__full_name=f"{name.title()} Umbrella",
            )
            for name, role in (("admin", Role.ADMIN), ("rep", Role.REP))
        )
        for path in settings.KEEL_TENANT_SETUP:
            import_string(path)(tenant=tenant, by=admin.user)
        code_field = factories.FieldDefinitionFactory(
            tenant=tenant, record_type="contact", key="umbrella_code", label="Umbrella code"
        )
        orgs = [
            factories.OrganizationFactory(
                tenant=tenant,
                name=name,
                domain=f"{name.split()[0].lower()}.umbrella.test",
                owner=rep.user,
                lifecycle=lifecycle,
            )
            for name, lifecycle in (
                ("Umbrella Holdings", Organization.Lifecycle.CUSTOMER),
                ("Umbrella Labs", Organization.Lifecycle.PROSPECT),
            )
        ]
        contacts = [
            factories.ContactFactory(
                tenant=tenant,
                first_name=first,
                last_name="Umbrella",
                email=f"{first.lower()}@umbrella.test",
                organization=org,
                owner=rep.user,
                custom_fields={code_field.key: f"U-{i}"},
            )
            for i, (first, org) in enumerate((("Jill", orgs[0]), ("Albert", orgs[1])))
        ]
        activities = [
            factories.ActivityFactory(
                tenant=tenant,
                kind=kind,
                subject=f"Umbrella {kind}",
                contact=contact,
                organization=contact.organization,
                logged_by=rep.user,
                occurred_at=now - timedelta(days=2),
            )
            for kind, contact in (
                (Activity.Kind.CALL, contacts[0]),
                (Activity.Kind.NOTE, contacts[1]),
            )
        ]
        tasks = [
            factories.TaskFactory(
                tenant=tenant,
                title="Umbrella follow-up",
                contact=contacts[0],
                assignee=rep.user,
                due_at=later,
            ),
            factories.TaskFactory(
                tenant=tenant,
                title="Umbrella done task",
                organization=orgs[0],
                assignee=rep.user,
                due_at=now - timedelta(days=1),
                done_at=now - timedelta(days=1),
                done_by=rep.user,
            ),
        ]
        sales = Pipeline.objects.get(kind=Pipeline.Kind.SALES)
        stages = list(sales.stages.order_by("position"))
        first, won, lost = stages[0], sales.stages.get(kind="won"), sales.stages.get(kind="lost")
        reason = LostReason.objects.first()
        deals = [
            factories.DealFactory(
                tenant=tenant,
                name="Umbrella open deal",
                stage=first,
                organization=orgs[1],
                primary_contact=contacts[1],
                owner=rep.user,
                amount=5000,
            ),
            factories.DealFactory(
                tenant=tenant,
                name="Umbrella won deal",
                stage=won,
                status=Deal.Status.WON,
                organization=orgs[0],
                primary_contact=contacts[0],
                owner=rep.user,
                amount=12000,
                created_at=now - timedelta(days=40),
                first_transition__to_stage=first,
                stage_entered_at=now - timedelta(days=10),
                closed_at=now - timedelta(days=10),
            ),
            factories.DealFactory(
                tenant=tenant,
                name="Umbrella lost deal",
                stage=lost,
                status=Deal.Status.LOST,
                organization=orgs[1],
                owner=rep.user,
                amount=3000,
                created_at=now - timedelta(days=30),
                first_transition__to_stage=first,
                stage_entered_at=now - timedelta(days=5),
                closed_at=now - timedelta(days=5),
                lost_reason=reason,
            ),
        ]
        StageTransition.objects.bulk_create(
            StageTransition(
                tenant=tenant,
                deal=deal,
                from_stage=first,
                to_stage=deal.stage,
                by=rep.user,
                at=deal.stage_entered_at,
            )
            for deal in deals[1:]
        )
        factories.DealActivityFactory(tenant=tenant, deal=deals[0], activity=activities[1])
        notice = Notification.objects.create(
            tenant=tenant,
            recipient=rep.user,
            kind=NotificationKind.SYSTEM,
            key="umbrella:welcome",
            title="Welcome to Umbrella",
        )
        factories.ConsentFactory(tenant=tenant, contact=contacts[0])
        factories.SavedViewFactory(tenant=tenant, user=rep.user, name="Umbrella leads")
    other = Other(
        tenant=tenant,
        member_ids=[admin.pk, rep.pk],
        organization_ids=[o.pk for o in orgs],
        contact_ids=[c.pk for c in contacts],
        activity_ids=[a.pk for a in activities],
        task_ids=[t.pk for t in tasks],
        deal_ids=[d.pk for d in deals],
        notification_ids=[notice.pk],
        field_key=code_field.key,
    )
    other.fingerprint = _fingerprint(other)
    return other


def _other_tenant() -> Other:
    """The background tenant, seeded again when a transactional test flushed it."""
    tenant = Tenant.objects.filter(slug=OTHER_SLUG).first()
    if tenant is None:
        return _seed_other_tenant()
    return _OTHER.get(tenant.pk) or _load_other(tenant)


_OTHER: dict[int, Other] = {}


def _load_other(tenant: Tenant) -> Other:
    """The ids of a seed committed earlier (a database kept with --reuse-db)."""
    from contacts.models import Activity, Contact, Organization, Task
    from crm.models import Notification
    from pipeline.models import Deal

    def ids(model) -> list[int]:
        return sorted(model.objects.values_list("pk", flat=True))

    with transaction.atomic(), tenant_context(tenant):
        other = Other(
            tenant=tenant,
            member_ids=ids(Membership),
            organization_ids=ids(Organization),
            contact_ids=ids(Contact),
            activity_ids=ids(Activity),
            task_ids=ids(Task),
            deal_ids=ids(Deal),
            notification_ids=ids(Notification),
            field_key="umbrella_code",
        )
    other.fingerprint = _fingerprint(other)
    _OTHER[tenant.pk] = other
    return other


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The background tenant is committed once, before the first test that uses the
    database; each test's rollback leaves it in place."""
    with django_db_blocker.unblock():
        other = _other_tenant()
        _OTHER[other.tenant.pk] = other


def _uses_db(request) -> bool:
    return (
        "_django_db_helper" in request.fixturenames
        or request.node.get_closest_marker("django_db") is not None
    )


def _fingerprint(other: Other) -> set[tuple]:
    """What a test of another tenant must leave as it was: the seeded records' fields,
    read in one query (it runs after every test)."""
    from django.db.models import F, TextField, Value
    from django.db.models.functions import Cast, Coalesce, Concat

    from contacts.models import Activity, Contact, Organization, Task
    from pipeline.models import Deal

    kept = [
        (Organization, other.organization_ids, ("name", "owner_id", "lifecycle", "custom_fields")),
        (Contact, other.contact_ids, ("email", "owner_id", "organization_id", "custom_fields")),
        (Activity, other.activity_ids, ("subject", "contact_id", "organization_id")),
        (Task, other.task_ids, ("title", "assignee_id", "due_at", "done_at", "cancelled_at")),
        (Deal, other.deal_ids, ("name", "stage_id", "status", "owner_id", "amount")),
    ]

    def text(value: str) -> Value:
        return Value(value, output_field=TextField())

    def rows(model, ids, fields):
        parts = []
        for name in fields:
            parts += [Coalesce(Cast(F(name), TextField()), text("-")), text("|")]
        return (
            model.objects.filter(pk__in=ids)
            .order_by()
            .annotate(
                fp_model=text(model._meta.label),
                fp_fields=Concat(*parts, output_field=TextField()),
            )
            .values_list("fp_model", "pk", "fp_fields")
        )

    with transaction.atomic(), tenant_context(other.tenant):
        queries = [rows(*args) for args in kept]
        return set(queries[0].union(*queries[1:], all=True))


@pytest.fixture(autouse=True)
def other_tenant(request):
    """Another tenant's rows in every test that uses the database (see _seed_other_tenant),
    which the test must leave unchanged: an update or delete that forgets its tenant
    filter fails the test that made it.

    A transactional test flushes the database when it ends, so the next one seeds it
    again (one bulk of about forty rows)."""
    if not _uses_db(request):
        yield None
        return
    request.getfixturevalue("_django_db_helper")
    other = _other_tenant()
    _OTHER[other.tenant.pk] = other
    yield other
    if connection.needs_rollback or connection.connection is None:
        return  # the test ended in a failed transaction or closed it: nothing to compare
    assert _fingerprint(other) == other.fingerprint, "the test changed another tenant's records"


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


@pytest.fixture(scope="session")
def dovecot():
    """A real IMAP server on loopback for the mail tests (benchmarks.dovecot)."""
    from benchmarks.dovecot import Dovecot, available

    if not available():
        pytest.skip("Dovecot (dovecot-imapd) is not installed, or not running as root")
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_sink():
    """An aiosmtpd server on a free loopback port keeping every message it receives
    (`.received`) and each login (`.logins`); `smtp_sink.login = (user, password)` makes
    it refuse any other."""
    from tests.mail.smtp_sink import SmtpSink

    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


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
