"""Re-encrypt every mailbox password with the newest key of KEEL_MAIL_KEYS (mail.secrets)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm.models import Tenant
from crm.tenancy import tenant_context
from mail import secrets
from mail.models import Mailbox


class Command(BaseCommand):
    help = "Re-encrypt mailbox passwords with the first key of KEEL_MAIL_KEYS (after adding a new key)."

    def handle(self, *args, **options) -> None:
        rotated, unreadable = 0, []
        for tenant in Tenant.objects.order_by("pk"):
            with transaction.atomic(), tenant_context(tenant):
                for mailbox in Mailbox.objects.select_for_update():
                    try:
                        mailbox.password_encrypted = secrets.rotate(mailbox.password_encrypted)
                    except secrets.UnreadableSecret:
                        unreadable.append(f"{tenant.slug}: {mailbox.email}")
                        continue
                    mailbox.save(update_fields=["password_encrypted"])
                    rotated += 1
        self.stdout.write(f"{rotated} mailbox password(s) re-encrypted with the newest key.")
        if unreadable:
            raise CommandError(
                "Encrypted with a key no longer configured (their owners must enter the "
                "password again): " + ", ".join(unreadable)
            )
