from django.core.management.base import BaseCommand, CommandError

from crm.models import Tenant
from crm.tenant_transfer import export_tenant


class Command(BaseCommand):
    help = "Write one workspace (every tenant-owned table and its files) to a zip file."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file", help="The zip file to write")

    def handle(self, *args, **opts):
        tenant = Tenant.objects.filter(slug=opts["slug"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with the slug {opts['slug']!r}.")
        with open(opts["file"], "wb") as target:
            counts = export_tenant(tenant, target)
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {tenant.slug}: {sum(counts.values())} rows in {len(counts)} tables "
                f"to {opts['file']}"
            )
        )
