from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm.services import create_tenant


class Command(BaseCommand):
    help = "Create a tenant (workspace) with its first admin."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="URL name, e.g. acme (becomes /acme/)")
        parser.add_argument("--name", required=True, help="Company name")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", help="Omit to be asked nothing: use password reset")
        parser.add_argument("--admin-name", default="")
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--currency", default="EUR")

    def handle(self, *args, **opts):
        try:
            tenant, membership = create_tenant(
                name=opts["name"],
                slug=opts["slug"],
                admin_email=opts["admin_email"],
                admin_password=opts["admin_password"],
                admin_name=opts["admin_name"],
                time_zone=opts["time_zone"],
                currency=opts["currency"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {tenant.name} at /{tenant.slug}/ with admin {membership.user.email}"
            )
        )
