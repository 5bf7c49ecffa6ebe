"""CSV imports: upload, map the columns, preview, then run in chunks as a Celery task.

1. `create_import` refuses what is not a CSV file (or too big), detects the encoding and
   the separator, counts the rows, stores the upload under MEDIA_ROOT and suggests a
   mapping of columns to fields.
2. `preview` plans the first rows with that mapping (nothing is written) so the person
   sees, per row, whether it creates, updates, changes nothing or is refused, and why.
3. `start_import` saves the mapping and queues `governance.run_import` after the commit.
4. `run_import_chunk` (the task calls it; so does `manage.py import_csv`) prepares the
   file once (rows as JSON lines, repeated keys marked), then imports the next chunk of
   rows in the caller's transaction and advances the job's offset in the same
   transaction, so a chunk is applied exactly once whatever the worker does.

A row is created, updated, left unchanged, or refused with its reason in the job's error
report: nothing is dropped silently, and importing the same file again changes nothing.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from crm.audit import record_event
from crm.celery import TenantTask
from crm.celery import app as celery_app
from crm.models import Tenant, User
from crm.notifications import grouped
from crm.tenancy import current_tenant, tenant_context
from governance.imports import csvfile, targets
from governance.imports.rows import IMPORTERS
from governance.imports.rows.base import Planned, Row
from governance.models import ImportJob, ImportRowError

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 10
ALLOWED_SUFFIXES = {".csv", ".txt", ".tsv"}
# What identifies a row of each kind: at least one of these must be mapped.
KEY_TARGETS = {
    "contacts": ({"first_name", "full_name", "email"}, "a first name, a name or an e-mail column"),
    "organizations": ({"name", "domain", "website"}, "a name, domain or website column"),
    "deals": ({"name"}, "a deal name column"),
}


def max_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_BYTES", 50 * 1024 * 1024)


def chunk_rows() -> int:
    return getattr(settings, "IMPORT_CHUNK_ROWS", 2000)


def create_import(*, by: User, kind: str, upload: File) -> ImportJob:
    """Store an uploaded file as a new import waiting for its mapping.

    Refuses (ValidationError keyed "file" or "kind") a file over the size limit, a file
    that is not CSV text (a workbook, a PDF…), a file without a header or without rows.
    """
    if kind not in ImportJob.Kind.values:
        raise ValidationError({"kind": "Choose contacts, organizations or deals."})
    name = PurePosixPath(upload.name or "upload.csv").name[:255]
    limit = max_bytes()
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            {
                "file": f"The file is {upload.size / 1_048_576:.1f} MB; the limit is "
                f"{limit / 1_048_576:.0f} MB. Split it into smaller files."
            }
        )
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise ValidationError({"file": f"The file is over the {limit / 1_048_576:.0f} MB limit."})
    fmt, text = csvfile.inspect(raw, name)  # refuses workbooks, PDFs, binary files
    if PurePosixPath(name).suffix.lower() not in ALLOWED_SUFFIXES:
        raise ValidationError(
            {"file": f"“{name}” is not a .csv file. Save the spreadsheet as CSV and upload that."}
        )
    count = sum(1 for _ in csvfile.records(text, fmt.delimiter))
    if count == 0:
        raise ValidationError({"file": "The file has a header row but no data rows."})
    tenant = current_tenant()
    path = default_storage.save(f"imports/{tenant.pk}/{uuid.uuid4().hex}.csv", ContentFile(raw))
    with transaction.atomic():
        job = ImportJob.objects.create(
            tenant=tenant,
            kind=kind,
            file_name=name,
            file_size=len(raw),
            stored_path=path,
            encoding=fmt.encoding,
            delimiter=fmt.delimiter,
            headers=fmt.headers,
            mapping=targets.suggest(kind, fmt.headers),
            rows_total=count,
            created_by=by,
        )
        record_event(
            actor=by,
            verb="import.uploaded",
            target=job,
            changes={
                "file": [None, name],
                "kind": [None, kind],
                "rows": [None, count],
                "encoding": [None, fmt.encoding_label],
                "separator": [None, fmt.delimiter],
            },
        )
    return job


def encoding_label(job: ImportJob) -> str:
    return {
        "utf-8-sig": "UTF-8 (with BOM)",
        "utf-8": "UTF-8",
        "utf-16": "UTF-16",
        "cp1252": "Latin-1 (Windows-1252)",
        "latin-1": "Latin-1 (ISO 8859-1)",
    }.get(job.encoding, job.encoding)


def _text(job: ImportJob) -> str:
    with default_storage.open(job.stored_path, "rb") as handle:
        return handle.read().decode(job.encoding)


def clean_mapping(job: ImportJob, mapping: dict[str, str]) -> dict[str, str]:
    """A mapping of this job's columns to known targets, each target at most once, naming
    the key the kind needs. Raises ValidationError (keyed "mapping") otherwise."""
    known = {t.name: t.label for t in targets.targets(job.kind)}
    clean: dict[str, str] = {}
    used: dict[str, str] = {}
    for index, target in mapping.items():
        if not target:
            continue
        if not str(index).isdigit() or int(index) >= len(job.headers):
            raise ValidationError({"mapping": "The mapping names a column the file does not have."})
        if target not in known:
            raise ValidationError({"mapping": f"“{target}” is not a field you can import into."})
        if target in used:
            raise ValidationError(
                {
                    "mapping": f"“{used[target]}” and “{job.headers[int(index)]}” are both mapped "
                    f"to {known[target]}; map one of them."
                }
            )
        used[target] = job.headers[int(index)]
        clean[str(index)] = target
    needed, description = KEY_TARGETS[job.kind]
    if not needed & set(clean.values()):
        raise ValidationError({"mapping": f"Map {description}, so rows can be matched."})
    if job.kind == "deals" and not {"organization", "primary_contact"} & set(clean.values()):
        raise ValidationError(
            {"mapping": "Map an organization or a primary-contact column: a deal needs one."}
        )
    return clean


@dataclass(frozen=True)
class PreviewRow:
    number: int
    cells: list[str]
    action: str
    problems: list[str]
    changes: list[str]


def preview(job: ImportJob, *, mapping: dict[str, str] | None = None) -> list[PreviewRow]:
    """The first rows as the import would treat them with `mapping`; writes nothing."""
    mapping = job.mapping if mapping is None else mapping
    importer = IMPORTERS[job.kind](mapping=mapping, by=job.created_by, job_id=job.pk)
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for number, cells in csvfile.records(_text(job), job.delimiter):
        row = Row(number, cells)
        key = importer.key(importer.values(row))
        if key:
            first = seen.setdefault(key, number)
            row.duplicate_of = first if first != number else 0
        rows.append(row)
        if len(rows) >= PREVIEW_ROWS:
            break
    with transaction.atomic():
        planned = importer.plan(rows)
        transaction.set_rollback(True)  # belt and braces: a preview never writes
    return [_preview_row(p) for p in planned]


def _preview_row(p: Planned) -> PreviewRow:
    changes = sorted(k for k in p.changes if not k.startswith("_"))
    return PreviewRow(p.row.number, p.row.cells, p.action, list(p.errors), changes)


def save_mapping(job: ImportJob, *, by: User, mapping: dict[str, str]) -> ImportJob:
    if job.status != ImportJob.Status.MAPPING:
        raise ValidationError("This import has already started.")
    job.mapping = clean_mapping(job, mapping)
    job.save(update_fields=["mapping"])
    return job


def start_import(
    job: ImportJob, *, by: User, mapping: dict[str, str] | None = None, queue: bool = True
) -> ImportJob:
    """Fix the mapping and queue the import (after the commit; `queue=False` leaves the
    running to the caller, as `manage.py import_csv` does). Refuses a started job."""
    if job.status != ImportJob.Status.MAPPING:
        raise ValidationError("This import has already started.")
    with transaction.atomic():
        job.mapping = clean_mapping(job, job.mapping if mapping is None else mapping)
        job.status = ImportJob.Status.QUEUED
        job.save(update_fields=["mapping", "status"])
        headers = job.headers
        record_event(
            actor=by,
            verb="import.started",
            target=job,
            changes={"mapping": [None, {headers[int(i)]: t for i, t in job.mapping.items()}]},
        )
        if queue:
            tenant_id, job_id = job.tenant_id, job.pk
            transaction.on_commit(lambda: run_import.delay(tenant_id=tenant_id, job_id=job_id))
    return job


def _prepare(job: ImportJob) -> None:
    """Write the rows as JSON lines [row number, earlier row with the same key, cells], so
    that every chunk starts at a byte offset and repeated keys are known up front."""
    importer = IMPORTERS[job.kind](mapping=job.mapping, by=job.created_by, job_id=job.pk)
    seen: dict[str, int] = {}
    lines = []
    for number, cells in csvfile.records(_text(job), job.delimiter):
        key = importer.key(importer.values(Row(number, cells)))
        first = seen.setdefault(key, number) if key else number
        lines.append(json.dumps([number, first if first != number else 0, cells]))
    body = ("\n".join(lines) + "\n").encode("utf-8")
    path = job.stored_path.rsplit(".", 1)[0] + ".jsonl"
    job.prepared_path = default_storage.save(path, ContentFile(body))
    job.rows_total = len(lines)
    job.next_offset = 0


def _read_chunk(job: ImportJob, limit: int) -> tuple[list[Row], int]:
    rows = []
    with default_storage.open(job.prepared_path, "rb") as handle:
        handle.seek(job.next_offset)
        offset = job.next_offset
        while len(rows) < limit:
            line = handle.readline()
            if not line:
                break
            offset += len(line)
            number, duplicate_of, cells = json.loads(line)
            rows.append(Row(number, cells, duplicate_of))
    return rows, offset


def run_import_chunk(*, job_id: int, limit: int | None = None) -> bool:
    """Import the job's next chunk of rows in the current transaction; True while rows
    remain. A job that is not queued or running is left alone (returns False)."""
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return False
    if not job.prepared_path:
        _prepare(job)
        job.status, job.started_at = ImportJob.Status.RUNNING, timezone.now()
    rows, offset = _read_chunk(job, limit or chunk_rows())
    if rows:
        importer = IMPORTERS[job.kind](mapping=job.mapping, by=job.created_by, job_id=job.pk)
        with grouped():  # a chunk's automatic assignments: one notice per new owner
            result = importer.apply(importer.plan(rows))
        ImportRowError.objects.bulk_create(
            [
                ImportRowError(tenant=job.tenant, job=job, row_number=n, message=m, values=v)
                for n, m, v in result.errors
            ],
            batch_size=1000,
        )
        job.rows_done += len(rows)
        job.rows_created += result.created
        job.rows_updated += result.updated
        job.rows_unchanged += result.unchanged
        job.rows_failed += result.failed
        job.organizations_created += result.organizations_created
        job.next_offset = offset
    more = bool(rows) and job.rows_done < job.rows_total
    if not more:
        _finish(job)
    job.save()
    return more


def _finish(job: ImportJob) -> None:
    job.status, job.finished_at = ImportJob.Status.DONE, timezone.now()
    record_event(
        actor=job.created_by,
        verb="import.completed",
        target=job,
        changes={
            "created": [None, job.rows_created],
            "updated": [None, job.rows_updated],
            "unchanged": [None, job.rows_unchanged],
            "refused": [None, job.rows_failed],
            "organizations_created": [None, job.organizations_created],
        },
    )
    _delete_files(job)


def _delete_files(job: ImportJob) -> None:
    # The file holds personal data; once imported it is not needed (refused rows stay in
    # the error report).
    for path in (job.stored_path, job.prepared_path):
        if path and default_storage.exists(path):
            default_storage.delete(path)


def fail_import(*, job_id: int, error: str) -> None:
    """Mark a job failed after an unexpected error (the rows of the failed chunk were
    rolled back; the ones before stay imported)."""
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.is_finished:
        return
    job.status, job.finished_at, job.error = ImportJob.Status.FAILED, timezone.now(), error[:2000]
    job.save(update_fields=["status", "finished_at", "error"])
    record_event(
        actor=job.created_by, verb="import.failed", target=job, changes={"error": [None, error]}
    )
    _delete_files(job)


# start_import queues this task, so it is defined here beside it (governance.tasks imports
# it for the worker, never the reverse). It re-queues itself until the job is done.


@celery_app.task(base=TenantTask, name="governance.run_import")
def run_import(*, tenant_id: int, job_id: int) -> None:
    """Import one chunk of the job, commit, and queue the next chunk after the commit.

    Each chunk commits with the job's progress, so the progress bar moves and a second
    delivery of this message finds the offset already advanced.
    """
    try:
        with transaction.atomic():
            more = run_import_chunk(job_id=job_id)
    except Exception as exc:  # the chunk rolled back; say so on the job instead of hanging
        logger.exception("Import %s failed", job_id)
        fail_import(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        return
    if more:
        transaction.on_commit(lambda: run_import.delay(tenant_id=tenant_id, job_id=job_id))


def run_to_end(job: ImportJob, *, tenant: Tenant, progress: Any = None) -> ImportJob:
    """Run every remaining chunk now, each in its own transaction under `tenant` (the
    command, tests, benchmarks); `progress(job)` is called after each chunk."""
    more = True
    while more:
        with transaction.atomic(), tenant_context(tenant):
            more = run_import_chunk(job_id=job.pk)
            job = ImportJob.objects.get(pk=job.pk)
        if progress is not None:
            progress(job)
    return job


def error_report(job: ImportJob) -> tuple[list[str], list[list[Any]]]:
    """The refused rows as a table: the row, the reason, then the row as it was."""
    header = ["Row", "Problem", *job.headers]
    rows = [
        [e.row_number, e.message, *e.values]
        for e in ImportRowError.objects.filter(job=job).order_by("row_number", "id").iterator()
    ]
    return header, rows
