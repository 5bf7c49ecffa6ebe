"""`manage.py backfill_snapshots`: reconstruct the daily snapshots history allows."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm.tenancy import tenant_context
from reporting.management.commands._tenant import get_tenant
from reporting.services import backfill_snapshots


class Command(BaseCommand):
    help = (
        "Create the missing daily snapshots of the last N days (today included) from the "
        "stage history; snapshots that exist are left as they are."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="the workspace's slug")
        parser.add_argument("--days", type=int, default=365)

    def handle(self, *args, **opts) -> None:
        if opts["days"] < 1:
            raise CommandError("--days must be at least 1.")
        tenant = get_tenant(opts["tenant"])
        with transaction.atomic(), tenant_context(tenant):
            created = backfill_snapshots(days=opts["days"])
        self.stdout.write(
            f"{tenant.slug}: {created} snapshot(s) created, the rest already existed."
        )
