"""manage.py import_csv --tenant SLUG --kind contacts|organizations|deals FILE

Imports a CSV file into a workspace from the shell, with the mapping the import page
would suggest (or `--map "Column=field"` overrides), chunk by chunk, each chunk in its
own transaction; prints the progress and the outcome, and writes the error report next
to the file (or to `--errors`). Exits with status 1 when rows were refused.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm.csvsafe import write_rows
from crm.models import Membership, Role, Tenant, User
from crm.tenancy import tenant_context
from governance.models import ImportJob
from governance.services import imports


class Command(BaseCommand):
    help = "Import organizations, contacts or deals from a CSV file into a workspace."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--tenant", required=True, help="The workspace's slug.")
        parser.add_argument("--kind", required=True, choices=ImportJob.Kind.values)
        parser.add_argument(
            "--user", default="", help="E-mail of the member who imports (default: an admin)."
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help='Map a column by its header, e.g. --map "Firma=organization" (repeatable; '
            '"Column=" skips it).',
        )
        parser.add_argument("--errors", type=Path, help="Where to write the error report.")

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        tenant = Tenant.objects.filter(slug=options["tenant"], is_active=True).first()
        if tenant is None:
            raise CommandError(f"No active workspace with the slug {options['tenant']!r}.")
        started = time.monotonic()
        with transaction.atomic(), tenant_context(tenant):
            user = self._user(options["user"])
            try:
                with path.open("rb") as handle:
                    job = imports.create_import(
                        by=user, kind=options["kind"], upload=File(handle, name=path.name)
                    )
                mapping = self._mapping(job, options["map"])
                imports.start_import(job, by=user, mapping=mapping, queue=False)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            f"{job.rows_total} rows, {imports.encoding_label(job)}, separator "
            f"{job.delimiter!r}; columns: "
            + ", ".join(
                f"{job.headers[int(i)]} → {t}"
                for i, t in sorted(mapping.items(), key=lambda x: int(x[0]))
            )
        )

        def progress(current: ImportJob) -> None:
            self.stdout.write(
                f"\r{current.rows_done}/{current.rows_total} rows ({current.percent} %)", ending=""
            )
            self.stdout.flush()

        job = imports.run_to_end(job, tenant=tenant, progress=progress)
        elapsed = time.monotonic() - started
        self.stdout.write("")
        self.stdout.write(
            f"Done in {elapsed:.1f} s: {job.rows_created} created, {job.rows_updated} updated, "
            f"{job.rows_unchanged} unchanged, {job.rows_failed} refused"
            + (
                f", {job.organizations_created} organizations added"
                if job.organizations_created
                else ""
            )
            + "."
        )
        if job.rows_failed:
            report = options["errors"] or path.with_name(f"{path.stem}-errors.csv")
            with transaction.atomic(), tenant_context(tenant):
                header, rows = imports.error_report(job)
            with report.open("w", encoding="utf-8-sig", newline="") as out:
                write_rows(out, header, rows)
            self.stderr.write(f"Refused rows, with the reason, are in {report}")
            sys.exit(1)  # fmt: skip

    def _user(self, email: str) -> User:
        members = Membership.objects.filter(is_active=True).select_related("user")
        if email:
            found = members.filter(user__email__iexact=email).first()
            if found is None:
                raise CommandError(f"{email} is not an active member of this workspace.")
            return found.user
        admin = members.filter(role=Role.ADMIN).order_by("pk").first()
        if admin is None:
            raise CommandError("The workspace has no active admin; pass --user.")
        return admin.user

    def _mapping(self, job: ImportJob, overrides: list[str]) -> dict[str, str]:
        mapping = dict(job.mapping)
        by_header = {h.casefold(): str(i) for i, h in enumerate(job.headers)}
        for item in overrides:
            header, _, target = item.partition("=")
            index = by_header.get(header.strip().casefold())
            if index is None:
                raise CommandError(f"The file has no column {header!r} ({', '.join(job.headers)}).")
            if target.strip():
                mapping[index] = target.strip()
            else:
                mapping.pop(index, None)
        return mapping
