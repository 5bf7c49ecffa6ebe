"""Creates (or refreshes) the demo workspace. Safe to run again: it never duplicates."""

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from crm.models import Membership, Role, Tenant, User
from crm.services import create_tenant
from crm.tenancy import tenant_context
from demo import automations, contacts, intelligence, mail, pipeline, reporting

DEMO_SLUG = "demo"
# Published in the README: the demo workspace is for trying Keel out, never production.
DEMO_PASSWORD = "keel-demo-2026"  # noqa: S105  # nosec B105
DEMO_USERS = [
    ("admin@demo.keel.test", "Ada Admin", Role.ADMIN),
    ("manager@demo.keel.test", "Max Manager", Role.MANAGER),
    ("rep@demo.keel.test", "Rita Rep", Role.REP),
    ("rep2@demo.keel.test", "Ravi Rep", Role.REP),
]
# Each `seed(*, tenant, members, stdout)` runs with the tenant current, in this order: a
# seeder builds on what the ones before it wrote.
SEEDERS = [
    contacts,
    pipeline,
    automations,
    # Conversations of the reps' open deals, as a synced mailbox brings them in.
    mail,
    # After the seeders whose history it reads: targets, activity days, snapshots.
    reporting,
    # Last: value segments, a few customers at risk, 60 days of health scores.
    intelligence,
]


class Command(BaseCommand):
    help = "Create the demo workspace with one user of each role and realistic data."

    def handle(self, *args, **opts):
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None:
            email, name, _ = DEMO_USERS[0]
            tenant, _ = create_tenant(
                name="Northwind Demo",
                slug=DEMO_SLUG,
                admin_email=email,
                admin_password=DEMO_PASSWORD,
                admin_name=name,
                time_zone="Europe/Berlin",
                currency="EUR",
            )
        with transaction.atomic(), tenant_context(tenant):
            members = {}
            for email, name, role in DEMO_USERS:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User.objects.create_user(email, DEMO_PASSWORD, full_name=name)
                members[email], _ = Membership.objects.get_or_create(
                    user=user, defaults={"role": role}
                )
            for seeder in SEEDERS:
                seeder.seed(tenant=tenant, members=members, stdout=self.stdout)
                _analyze()
        self.stdout.write(
            self.style.SUCCESS(f"Demo workspace ready at http://127.0.0.1:8000/{DEMO_SLUG}/")
        )
        for email, _, role in DEMO_USERS:
            self.stdout.write(f"  {role:<8} {email:<26} password: {DEMO_PASSWORD}")


def _analyze() -> None:
    """Fresh statistics for what a seeder wrote, so that the seeders after it (reporting
    replays a year of scorecards) are planned for the tables as they now are. A new
    database has none, and where autovacuum is off or has not caught up, the planner takes
    the year of history for empty tables. Within the transaction, ANALYZE counts its own
    uncommitted rows."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
