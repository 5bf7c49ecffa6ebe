from django.core.management.base import BaseCommand, CommandError

from crm.tenant_transfer import TransferError, import_tenant


class Command(BaseCommand):
    help = "Load a tenant export as a new workspace (ids remapped, row-level security on)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="A zip file written by export_tenant")
        parser.add_argument("--slug", help="The new workspace's slug (default: the exported one)")

    def handle(self, *args, **opts):
        try:
            with open(opts["file"], "rb") as source:
                imported = import_tenant(source, slug=opts["slug"])
        except (OSError, TransferError) as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(imported.counts.values())
        self.stdout.write(self.style.SUCCESS(f"Imported /{imported.tenant.slug}/: {rows} rows"))
