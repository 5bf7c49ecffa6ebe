# Long on purpose: one generator per table, in the order the tables depend on each other.
"""Data at the scale of a real sales organisation, generated inside PostgreSQL.

Each table is filled by one `INSERT … SELECT … FROM generate_series(…)` per tenant,
inside that tenant's transaction (`tenant_context`), so row-level security checks
every row (WITH CHECK) and nothing is switched off. Related rows are found through
small temporary tables that number the rows already inserted (`n` → `id`), so the
generator never relies on contiguous ids. Columns the generator does not choose get
their model default (or NULL / ''), read from the model, so a field added later
does not break it. Everything is deterministic for a given `--seed` and sizes.

The large tenant (`bench`): members, organizations, contacts (one of them with a
2,000-entry timeline), deals over the sales, onboarding and renewals pipelines with
their stage histories, activities (some linked to deals) and tasks. The small tenants
(`bench-s0001`…): organizations and open deals only, for the cross-tenant scans; a
few of them have stale deals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from psycopg import sql

from contacts.models import Activity, Contact, Organization, SearchTerm, Task
from contacts.normalize import organization_name_key
from crm.models import Membership, Role, Tenant, User
from crm.services import create_tenant
from crm.tenancy import tenant_context
from pipeline.models import (
    Deal,
    DealActivity,
    DealSearchTerm,
    LostReason,
    Pipeline,
    Stage,
    StageTransition,
)

LARGE_SLUG = "bench"
SMALL_PREFIX = "bench-s"
PASSWORD = "keel-bench-2026"  # noqa: S105 (benchmark users on a benchmark database)
ADMIN_EMAIL = "admin@bench.keel.test"
MANAGER_EMAIL = "manager0@bench.keel.test"
SMALL_ADMIN_EMAIL = "owner@small.bench.keel.test"
TIMELINE_CONTACT_EMAIL = "timeline@bench.keel.test"
TIMELINE_ENTRIES = 2000


@dataclass
class Sizes:
    orgs: int = 100_000
    contacts: int = 300_000
    deals: int = 150_000
    activities: int = 3_000_000
    tasks: int = 200_000
    members: int = 200
    small_tenants: int = 1000
    small_deals: int = 1000
    seed: int = 1


def _literal(value) -> str:
    return sql.Literal(value).as_string(connection.connection)


def _column_sql(field: models.Field, exprs: dict[str, str]) -> str:
    for key in (field.name, field.attname):
        if key in exprs:
            return exprs[key]
    db_type = field.db_type(connection)
    if field.has_default():
        value = field.get_db_prep_save(field.get_default(), connection)
        return f"CAST({_literal(value)} AS {db_type})"
    if field.null:
        return f"CAST(NULL AS {db_type})"
    if isinstance(field, models.CharField | models.TextField):
        return "''"
    raise ValueError(f"seed_scale: no value for {field.model.__name__}.{field.name}")


def insert_select(model: type[models.Model], exprs: dict[str, str], source: str, params=()) -> int:
    """INSERT INTO model's table (every concrete column but the id) SELECT … FROM source."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    unknown = set(exprs) - {f.name for f in fields} - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"seed_scale: {model.__name__} has no field(s) {sorted(unknown)}")
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = ",\n  ".join(_column_sql(f, exprs) for f in fields)
    query = f"INSERT INTO {model._meta.db_table} ({columns})\nSELECT {values}\nFROM {source}"  # noqa: S608 (column names from the models, values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.rowcount


def _execute(query: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(query, params)


def _numbered(name: str, query: str, params=()) -> None:
    """A temporary table `name` (n, id, …) numbering the rows of `query` from 0."""
    _execute(f"DROP TABLE IF EXISTS {name}")
    _execute(f"CREATE TEMP TABLE {name} AS {query}", params)  # noqa: S608
    _execute(f"CREATE INDEX ON {name} (n)")
    _execute(f"ANALYZE {name}")


def _table(model: type[models.Model]) -> str:
    return model._meta.db_table


class Generator:
    def __init__(self, sizes: Sizes, log: Callable[[str], None] = print) -> None:
        self.sizes = sizes
        self.log = log
        self.timings: dict[str, float] = {}

    def _step(self, name: str, fn: Callable[[], int | None]) -> None:
        started = time.perf_counter()
        rows = fn()
        elapsed = time.perf_counter() - started
        self.timings[name] = round(elapsed, 2)
        self.log(f"  {name:<22} {rows if rows is not None else '':>10} rows  {elapsed:7.1f} s")

    # The large tenant -------------------------------------------------------------

    def large(self) -> Tenant:
        tenant, _ = create_tenant(
            name="Bench Corporation", slug=LARGE_SLUG, admin_email=ADMIN_EMAIL,
            admin_password=PASSWORD, admin_name="Bench Admin",
        )  # fmt: skip
        self.tenant = tenant
        for name, fn in [
            ("members", self._members),
            ("organizations", self._organizations),
            ("contacts", self._contacts),
            ("deals", self._deals),
            ("stage transitions", self._transitions),
            ("activities", self._activities),
            ("deal activities", self._deal_activities),
            ("tasks", self._tasks),
        ]:
            with transaction.atomic(), tenant_context(tenant):
                self._temp_tables(tenant)
                self._step(name, fn)
        return tenant

    def _temp_tables(self, tenant: Tenant) -> None:
        """Numbered ids of what exists so far (cheap; rebuilt per step and transaction)."""
        t = tenant.pk
        _numbered(
            "bench_member",
            f"SELECT (row_number() OVER (ORDER BY m.id) - 1) AS n, m.user_id AS id, m.role "  # noqa: S608
            f"FROM {_table(Membership)} m WHERE m.tenant_id = %s",
            [t],
        )
        _numbered(
            "bench_pipe",
            f"SELECT (row_number() OVER (ORDER BY p.position, p.id) - 1) AS n, p.id, p.kind, "  # noqa: S608
            f"(SELECT count(*) FROM {_table(Stage)} s WHERE s.pipeline_id = p.id AND s.kind = 'open' "
            f" AND s.archived_at IS NULL) AS n_open FROM {_table(Pipeline)} p WHERE p.tenant_id = %s",
            [t],
        )
        _numbered(
            "bench_stage",
            f"SELECT (row_number() OVER (PARTITION BY s.pipeline_id, s.kind ORDER BY s.position, s.id) - 1) AS n, "  # noqa: S608
            f"s.id, s.pipeline_id, s.kind, s.max_dwell_days FROM {_table(Stage)} s "
            f"WHERE s.tenant_id = %s AND s.archived_at IS NULL",
            [t],
        )
        _numbered(
            "bench_org",
            f"SELECT (row_number() OVER (ORDER BY id) - 1) AS n, id FROM {_table(Organization)} "  # noqa: S608
            f"WHERE tenant_id = %s",
            [t],
        )
        _numbered(
            "bench_contact",
            f"SELECT (row_number() OVER (ORDER BY id) - 1) AS n, id, organization_id "  # noqa: S608
            f"FROM {_table(Contact)} WHERE tenant_id = %s",
            [t],
        )

    def _members(self) -> int:
        s, t = self.sizes, self.tenant
        hashed = make_password(PASSWORD)
        extra = max(0, s.members - 1)  # the admin exists
        users = User.objects.bulk_create(
            [
                User(
                    email=f"{'manager' if i < max(1, extra // 10) else 'rep'}{i}@bench.keel.test",
                    full_name=f"Bench Member {i}",
                    password=hashed,
                )
                for i in range(extra)
            ]
        )
        managers = max(1, extra // 10)
        Membership.objects.bulk_create(
            [
                Membership(tenant=t, user=u, role=Role.MANAGER if i < managers else Role.REP)
                for i, u in enumerate(users)
            ]
        )
        return len(users)

    def _organizations(self) -> int:
        s = self.sizes
        assert organization_name_key("Company 12") == "company12"  # noqa: S101
        return insert_select(
            Organization,
            {
                "tenant": "%(t)s",
                "owner": "m.id",
                "name": "'Company ' || g",
                "name_key": "'company' || g",
                "domain": "'company' || g || '.example'",
                "website": "'https://company' || g || '.example'",
                "industry": "(ARRAY['software','retail','manufacturing','finance','health'])[1 + g %% 5]",
                "city": "(ARRAY['Berlin','Paris','Madrid','Lyon','Munich','Milan'])[1 + g %% 6]",
                "country": "(ARRAY['Germany','France','Spain','Italy'])[1 + g %% 4]",
                "lifecycle": "(ARRAY['prospect','customer','prospect','other'])[1 + g %% 4]",
                "created_at": "now() - make_interval(days => ((g * 7 + %(seed)s) %% 1000)::int)",
                "updated_at": "now() - make_interval(days => ((g * 3) %% 300)::int)",
            },
            "generate_series(0::bigint, %(n)s - 1) AS g JOIN bench_member m ON m.n = g %% %(members)s",
            {"t": self.tenant.pk, "n": s.orgs, "members": s.members, "seed": s.seed},
        )

    def _contacts(self) -> int:
        s = self.sizes
        return insert_select(
            Contact,
            {
                "tenant": "%(t)s",
                "owner": "m.id",
                "first_name": "(ARRAY['Ana','Ben','Chloé','David','Emma','Farid','Greta','Hugo'])[1 + g %% 8]",
                "last_name": "'Person' || g",
                "email": f"CASE WHEN g = 0 THEN '{TIMELINE_CONTACT_EMAIL}' ELSE 'contact' || g || '@company' || (g %% %(orgs)s) || '.example' END",
                "phone": "'+4930' || lpad((g %% 10000000)::text, 7, '0')",
                "job_title": "(ARRAY['CEO','CTO','Buyer','Head of Sales','Engineer'])[1 + g %% 5]",
                "organization": "o.id",
                "lifecycle": "(ARRAY['lead','qualified_lead','opportunity','customer','other'])[1 + g %% 5]",
                "created_lifecycle": "(ARRAY['lead','qualified_lead','lead','customer','other'])[1 + g %% 5]",
                "created_at": "now() - make_interval(days => ((g * 11 + %(seed)s) %% 900)::int)",
                "updated_at": "now() - make_interval(days => ((g * 5) %% 300)::int)",
            },
            "generate_series(0::bigint, %(n)s - 1) AS g JOIN bench_member m ON m.n = g %% %(members)s "
            "JOIN bench_org o ON o.n = g %% %(orgs)s",
            {
                "t": self.tenant.pk,
                "n": s.contacts,
                "members": s.members,
                "orgs": max(1, s.orgs),
                "seed": s.seed,
            },
        )

    def _deal_exprs(self) -> dict[str, str]:
        """Columns shared by both tenants' deals; `x` carries g, the stage `st`, `entered`."""
        return {
            "tenant": "%(t)s",
            "name": "'Deal ' || x.g",
            "pipeline": "st.pipeline_id",
            "stage": "st.id",
            "status": "st.kind",
            "organization": "o.id",
            "owner": "m.id",
            "amount": "(1000 + (x.g * 37 %% 200) * 250)::numeric(14,2)",
            "budget": "(1000 + (x.g * 37 %% 200) * 300)::numeric(14,2)",
            "expected_close": "(current_date + (((x.g * 13) %% 240) - 60)::int)",
            "stage_entered_at": "x.entered",
            "dwell_due_at": "CASE WHEN st.kind = 'open' AND st.max_dwell_days IS NOT NULL "
            "THEN x.entered + make_interval(days => (st.max_dwell_days)::int) END",
            "created_at": "x.entered - make_interval(days => (5 + (x.g %% 60))::int)",
            "updated_at": "x.entered",
            "closed_at": "CASE WHEN st.kind <> 'open' THEN x.entered END",
            "lost_reason": "CASE WHEN st.kind = 'lost' THEN (SELECT min(id) FROM "  # noqa: S608
            + _table(LostReason)
            + " WHERE tenant_id = %(t)s) END",
            "contract_start": "CASE WHEN st.kind = 'won' THEN x.entered::date END",
            "contract_end": "CASE WHEN st.kind = 'won' THEN x.entered::date + 365 END",
            "source": "(ARRAY['inbound','outbound','referral','partner'])[1 + x.g %% 4]",
        }

    def _deals(self) -> int:
        s = self.sizes
        exprs = self._deal_exprs()
        exprs["primary_contact"] = "c.id"
        # Pipelines: 70 % sales (n 0), 20 % onboarding (n 1), 10 % renewals (n 2).
        # Status: 60 % open, 25 % won, 15 % lost; open deals spread over the open stages,
        # in them for up to 40 days; closed deals closed within the last 400 days.
        source = """(
            SELECT g, g %% 10 AS pr, (g * 7) %% 20 AS sr,
                   now() - make_interval(days => (CASE WHEN (g * 7) %% 20 < 12
                       THEN (g * 17 + %(seed)s) %% 40 ELSE (g * 17 + %(seed)s) %% 400 END)::int, mins => (g %% 1440)::int) AS entered
            FROM generate_series(0::bigint, %(n)s - 1) AS g
        ) x
        JOIN bench_pipe p ON p.n = CASE WHEN x.pr < 7 THEN 0 WHEN x.pr < 9 THEN 1 ELSE 2 END %% (SELECT count(*) FROM bench_pipe)
        JOIN bench_stage st ON st.pipeline_id = p.id AND CASE
            WHEN x.sr < 12 THEN st.kind = 'open' AND st.n = (x.g / 3) %% greatest(p.n_open, 1)
            WHEN x.sr < 17 THEN st.kind = 'won' AND st.n = 0
            ELSE st.kind = 'lost' AND st.n = 0 END
        JOIN bench_org o ON o.n = x.g %% %(orgs)s
        LEFT JOIN bench_contact c ON c.n = x.g %% %(contacts)s
        JOIN bench_member m ON m.n = x.g %% %(members)s"""
        return insert_select(
            Deal,
            exprs,
            source,
            {
                "t": self.tenant.pk, "n": s.deals, "seed": s.seed, "orgs": max(1, s.orgs),
                "contacts": max(1, s.contacts), "members": s.members,
            },
        )  # fmt: skip

    def _transitions(self) -> int:
        """Each deal's history: into the first open stage, through the open stages up to its
        current one, and into its terminal stage when closed (5 days per stage)."""
        _numbered(
            "bench_deal",
            f"SELECT (row_number() OVER (ORDER BY d.id) - 1) AS n, d.id, d.pipeline_id, d.stage_id, "  # noqa: S608
            f"d.owner_id, d.stage_entered_at, st.kind, st.n AS open_n, p.n_open "
            f"FROM {_table(Deal)} d JOIN bench_stage st ON st.id = d.stage_id "
            f"JOIN bench_pipe p ON p.id = d.pipeline_id WHERE d.tenant_id = %s",
            [self.tenant.pk],
        )
        last = "CASE WHEN d.kind = 'open' THEN d.open_n ELSE d.n_open END"
        return insert_select(
            StageTransition,
            {
                "tenant": "%(t)s",
                "deal": "d.id",
                "from_stage": "fs.id",
                "to_stage": f"CASE WHEN i = {last} AND d.kind <> 'open' THEN d.stage_id ELSE ts.id END",
                "at": f"d.stage_entered_at - make_interval(days => (5 * ({last} - i))::int)",
                "by": "d.owner_id",
                "seconds_in_stage": "CASE WHEN i > 0 THEN 5 * 86400 END",
            },
            f"""bench_deal d CROSS JOIN LATERAL generate_series(0, {last}) AS i
            LEFT JOIN bench_stage ts ON ts.pipeline_id = d.pipeline_id AND ts.kind = 'open' AND ts.n = i
            LEFT JOIN bench_stage fs ON fs.pipeline_id = d.pipeline_id AND fs.kind = 'open' AND fs.n = i - 1""",
            {"t": self.tenant.pk},
        )

    def _activities(self) -> int:
        s = self.sizes
        entries = min(TIMELINE_ENTRIES, s.activities)
        return insert_select(
            Activity,
            {
                "tenant": "%(t)s",
                "kind": "(ARRAY['call','email','meeting','note'])[1 + g %% 4]",
                "subject": "(ARRAY['Intro call','Sent the proposal','Demo','Notes from the visit'])[1 + g %% 4] || ' #' || g",
                "body": "CASE WHEN g %% 10 = 0 THEN 'Discussed pricing, next steps and the timeline.' ELSE '' END",
                "occurred_at": "now() - make_interval(mins => ((g * 7919 + %(seed)s) %% 1051200)::int)",
                "duration_minutes": "CASE WHEN g %% 4 IN (0, 2) THEN 15 + g %% 45 END",
                "outcome": "CASE g %% 4 WHEN 0 THEN 'connected' WHEN 2 THEN 'held' ELSE '' END",
                "logged_by": "m.id",
                "contact": "c.id",
                "organization": "c.organization_id",
                "created_at": "now() - make_interval(mins => ((g * 7919 + %(seed)s) %% 1051200)::int)",
                "updated_at": "now() - make_interval(mins => ((g * 7919 + %(seed)s) %% 1051200)::int)",
            },
            "generate_series(0::bigint, %(n)s - 1) AS g "
            "JOIN bench_contact c ON c.n = CASE WHEN g < %(entries)s THEN 0 "
            "ELSE 1 + g %% greatest(%(contacts)s - 1, 1) END "
            "JOIN bench_member m ON m.n = g %% %(members)s",
            {
                "t": self.tenant.pk, "n": s.activities, "entries": entries, "seed": s.seed,
                "contacts": max(1, s.contacts), "members": s.members,
            },
        )  # fmt: skip

    def _deal_activities(self) -> int:
        """One activity linked to each deal (beyond the timeline contact's)."""
        _numbered(
            "bench_deal",
            f"SELECT (row_number() OVER (ORDER BY id) - 1) AS n, id FROM {_table(Deal)} "  # noqa: S608
            "WHERE tenant_id = %s",
            [self.tenant.pk],
        )
        _numbered(
            "bench_activity",
            f"SELECT (row_number() OVER (ORDER BY id) - 1) AS n, id FROM (SELECT id FROM "  # noqa: S608
            f"{_table(Activity)} WHERE tenant_id = %s ORDER BY id OFFSET %s LIMIT %s) a",
            [self.tenant.pk, TIMELINE_ENTRIES, self.sizes.deals],
        )
        return insert_select(
            DealActivity,
            {"tenant": "%(t)s", "deal": "d.id", "activity": "a.id"},
            "bench_deal d JOIN bench_activity a ON a.n = d.n",
            {"t": self.tenant.pk},
        )

    def _tasks(self) -> int:
        s = self.sizes
        # 70 % done, 10 % cancelled, 20 % open: due from 10 days ago to 50 days ahead.
        return insert_select(
            Task,
            {
                "tenant": "%(t)s",
                "title": "(ARRAY['Call back','Send the quote','Book a demo','Follow up'])[1 + g %% 4] || ' #' || g",
                "due_at": "date_trunc('hour', now()) + make_interval(hours => ((g * 37 + %(seed)s) %% 1440 - 240)::int)",
                "assignee": "m.id",
                "contact": "c.id",
                "organization": "c.organization_id",
                "created_by": "m.id",
                "created_at": "now() - make_interval(days => (30 + g %% 300)::int)",
                "updated_at": "now() - make_interval(days => (g %% 30)::int)",
                "done_at": "CASE WHEN g %% 10 < 7 THEN now() - make_interval(days => (g %% 30)::int) END",
                "done_by": "CASE WHEN g %% 10 < 7 THEN m.id END",
                "cancelled_at": "CASE WHEN g %% 10 = 7 THEN now() - make_interval(days => (g %% 30)::int) END",
            },
            "generate_series(0::bigint, %(n)s - 1) AS g "
            "JOIN bench_contact c ON c.n = g %% %(contacts)s "
            "JOIN bench_member m ON m.n = g %% %(members)s",
            {"t": self.tenant.pk, "n": s.tasks, "seed": s.seed, "contacts": max(1, s.contacts), "members": s.members},
        )  # fmt: skip

    # The small tenants ------------------------------------------------------------

    def small(self) -> int:
        s = self.sizes
        started = time.perf_counter()
        owner = User.objects.filter(email=SMALL_ADMIN_EMAIL).first()
        if owner is None:
            owner = User.objects.create_user(SMALL_ADMIN_EMAIL, PASSWORD, full_name="Small Owner")
        total = 0
        for i in range(s.small_tenants):
            tenant, _ = create_tenant(
                name=f"Small {i + 1:04d}",
                slug=f"{SMALL_PREFIX}{i + 1:04d}",
                admin_email=SMALL_ADMIN_EMAIL,
            )
            with transaction.atomic(), tenant_context(tenant):
                orgs = max(1, s.small_deals // 10)
                insert_select(
                    Organization,
                    {
                        "tenant": "%(t)s", "owner": "%(u)s", "name": "'Customer ' || g",
                        "name_key": "'customer' || g", "lifecycle": "'prospect'",
                    },
                    "generate_series(0::bigint, %(n)s - 1) AS g",
                    {"t": tenant.pk, "u": owner.pk, "n": orgs},
                )  # fmt: skip
                exprs = self._deal_exprs()
                exprs["owner"] = "%(u)s"
                # All open, in the sales pipeline; fresh, except in every 20th tenant, where
                # every 100th deal has been idle past its stage's limit and the rotting period.
                stale = "CASE WHEN %(stale)s AND g %% 100 = 0 THEN 45 ELSE g %% 3 END"
                total += insert_select(
                    Deal,
                    exprs,
                    f"""(SELECT g, now() - make_interval(days => ({stale})::int, mins => (g %% 1440)::int)
                           AS entered FROM generate_series(0::bigint, %(n)s - 1) AS g) x
                    JOIN (SELECT s.id, s.pipeline_id, s.kind, s.max_dwell_days,
                                 row_number() OVER (ORDER BY s.position, s.id) - 1 AS n,
                                 count(*) OVER () AS n_open
                          FROM {_table(Stage)} s JOIN {_table(Pipeline)} p ON p.id = s.pipeline_id
                          WHERE s.tenant_id = %(t)s AND p.kind = 'sales' AND s.kind = 'open'
                            AND s.archived_at IS NULL) st ON st.n = x.g %% st.n_open
                    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
                          FROM {_table(Organization)} WHERE tenant_id = %(t)s) o
                         ON o.n = x.g %% %(orgs)s""",  # noqa: S608
                    {"t": tenant.pk, "u": owner.pk, "n": s.small_deals, "orgs": orgs,
                     "stale": i % 20 == 0},
                )  # fmt: skip
            if (i + 1) % 100 == 0:
                self.log(f"  small tenants {i + 1}/{s.small_tenants} ({total} deals)")
        elapsed = time.perf_counter() - started
        self.timings["small tenants"] = round(elapsed, 2)
        self.log(f"  {'small tenants':<22} {total:>10} deals {elapsed:7.1f} s")
        return total

    def analyze(self) -> None:
        started = time.perf_counter()
        # The small tables too: a thousand new tenants with their pipelines and stages
        # would otherwise keep the planner's estimates of an empty database.
        for model in (
            Tenant, Membership, Pipeline, Stage, Organization, Contact, SearchTerm, Activity,
            Task, Deal, DealSearchTerm, StageTransition, DealActivity,
        ):  # fmt: skip
            # VACUUM too, where allowed (outside a transaction): it marks the new pages
            # all-visible, so counts can be answered by index only, as on a database that
            # has lived a while (the month's activities: 2 s by heap, 0.4 s by index).
            verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            _execute(f"{verb} {_table(model)}")
        self.timings["analyze"] = round(time.perf_counter() - started, 2)


def database_url() -> str:
    """The URL of the database this process uses (a test database too), for subprocesses."""
    db = connection.settings_dict
    auth = f"{db['USER']}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{db['USER']}@"
    return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def bench_tenant_exists() -> bool:
    return Tenant.objects.filter(slug=LARGE_SLUG).exists()
