"""Export one tenant to a zip file, and import such a file as a new tenant (ids remapped).

Generic over the app registry: the tables are every concrete model subclassing
`TenantOwned` (found through `django.apps`, so crm names no later app), plus the Tenant
row and the users of its memberships and of any user column. That is why this lives in
crm and not in a later app: it looks at models, it imports none.

The file: `manifest.json` (format, the migrations applied per app, the row counts), one
`app_label.model.jsonl` per table (fields by attname; datetimes ISO, decimals as strings,
UUIDs as text, binary as base64), `crm.tenant.json`, `crm.user.jsonl`, and the stored
files under `files/<path>` (FileFields and the path columns in PATH_COLUMNS).

Importing runs in one transaction inside `tenant_context(new_tenant)`, so row-level
security checks every row written. Foreign keys to exported rows are remapped through an
old → new id map per model; users through the user map (an existing user with the same
e-mail is reused); generic (`x_type`, `x_id`) references through the map of the model
`x_type` names. JSON columns that embed ids (the audit trail's `changes` for FK fields,
outbox payloads, automation log details) keep the old ids: they are history, as the
record looked when it happened, and are not rewritten.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import io
import json
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils.duration import duration_iso_string

from crm.models import Tenant, User
from crm.tenancy import TenantOwned, tenant_context

FORMAT = "keel-tenant/1"
BATCH = 1000
# Tables that PostgreSQL triggers fill from the rows they index (contacts migration 0003,
# pipeline migration 0005): inserting the contacts, organizations and deals refills them.
TRIGGER_MAINTAINED = {"contacts.searchterm", "pipeline.dealsearchterm"}
# Character columns holding a path under MEDIA_ROOT (not FileFields), per model label.
PATH_COLUMNS = {"governance.importjob": ("stored_path", "prepared_path")}
USER_FIELDS = ("email", "full_name", "password", "is_active")
TENANT_FIELDS = ("name", "time_zone", "currency", "is_active", "created_at")


class TransferError(Exception):
    """The file cannot be imported here; the message says why."""


# --- the tables and their order -------------------------------------------------------


def _found() -> list[type[models.Model]]:
    return [
        m
        for m in apps.get_models()
        if issubclass(m, TenantOwned)
        and not m._meta.proxy
        and m._meta.label_lower not in TRIGGER_MAINTAINED
    ]


def tenant_models() -> list[type[models.Model]]:
    """Every exported tenant-owned model, each after the models its foreign keys need."""
    return _ordered(_found())[0]


def _fks(model: type[models.Model]) -> list[models.ForeignKey]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.ForeignKey)]


def _ordered(found: list[type[models.Model]]) -> tuple[list, set[tuple[str, str]]]:
    """Topological order over the FKs between `found`; returns it and the (model label,
    attname) FKs inserted null and set in a second pass (self-references, broken cycles)."""
    labels = {m._meta.label_lower: m for m in found}
    deferred: set[tuple[str, str]] = set()
    needs: dict[str, dict[str, list[models.ForeignKey]]] = {}
    for m in found:
        needs[m._meta.label_lower] = defaultdict(list)
        for f in _fks(m):
            target = f.related_model._meta.label_lower
            if target == m._meta.label_lower:
                deferred.add((target, f.attname))
            elif target in labels:
                needs[m._meta.label_lower][target].append(f)
    # Generic references (audit, outbox, automation log) are remapped through the maps of
    # the models they name, so those tables come after every other one.
    generic = {label for label, m in labels.items() if _generic_refs(m)}
    for label in generic:
        for other in set(labels) - generic:
            needs[label].setdefault(other, [])
    order: list[type[models.Model]] = []
    remaining = sorted(labels)
    while remaining:
        ready = [x for x in remaining if not (set(needs[x]) & set(remaining))]
        if not ready:
            ready = [_break_cycle(remaining, needs, deferred)]
        for label in ready:
            order.append(labels[label])
            remaining.remove(label)
    return order, deferred


def _break_cycle(remaining, needs, deferred) -> str:
    for label in remaining:
        blocking = [t for t in needs[label] if t in remaining]
        if all(f.null for t in blocking for f in needs[label][t]):
            for t in blocking:
                deferred.update((label, f.attname) for f in needs[label].pop(t))
            return label
    raise TransferError(f"Foreign keys form a cycle with no nullable link: {remaining}")


def _generic_refs(model: type[models.Model]) -> list[tuple[str, str]]:
    """(type column, id column) pairs such as AuditEvent's target_type/target_id."""
    names = {f.attname: f for f in model._meta.concrete_fields}
    pairs = []
    for attname, f in names.items():
        if attname.endswith("_id") and isinstance(f, models.BigIntegerField):
            type_column = attname[: -len("_id")] + "_type"
            if isinstance(names.get(type_column), models.CharField):
                pairs.append((type_column, attname))
    return pairs


def _path_columns(model: type[models.Model]) -> list[str]:
    files = [f.attname for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
    return files + list(PATH_COLUMNS.get(model._meta.label_lower, ()))


def _user_fks(model: type[models.Model]) -> list[str]:
    return [f.attname for f in _fks(model) if f.related_model is User]


def schema_state(labels: Iterable[str]) -> dict[str, list[str]]:
    applied = defaultdict(list)
    for app, name in MigrationRecorder.Migration.objects.values_list("app", "name"):
        applied[app].append(name)
    return {app: sorted(applied[app]) for app in sorted(set(labels))}


def _apps_of(order: list[type[models.Model]]) -> set[str]:
    return {m._meta.app_label for m in order} | {"crm"}


# --- values as JSON -------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return duration_iso_string(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(f"Cannot export a {type(value).__name__}")


def _line(row: dict[str, Any]) -> bytes:
    return (json.dumps(row, default=_encode, ensure_ascii=False) + "\n").encode()


def _decode(f: models.Field, value: Any) -> Any:
    if value is None or isinstance(f, models.JSONField):
        return value
    return f.to_python(value)


# --- export ---------------------------------------------------------------------------


def export_tenant(tenant: Tenant, target: IO[bytes]) -> dict[str, int]:
    """Write `tenant` completely to `target` (a binary file); returns the row counts."""
    order = tenant_models()
    counts: dict[str, int] = {}
    user_ids: set[int] = set()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        with transaction.atomic(), _snapshot(), tenant_context(tenant):
            for model in order:
                counts[model._meta.label_lower] = _export_model(zf, model, tenant, user_ids)
            counts["crm.user"] = _export_users(zf, tenant, user_ids)
            tenant_row = {name: getattr(tenant, name) for name in TENANT_FIELDS}
            tenant_row |= {"id": tenant.pk, "slug": tenant.slug}
            zf.writestr("crm.tenant.json", _line(tenant_row))
            manifest = {
                "format": FORMAT,
                "tenant": tenant.slug,
                "migrations": schema_state(_apps_of(order)),
                "counts": counts,
            }
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
    return counts


@contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent view of every table while a live tenant is exported (a row added
    half-way would otherwise be read by one table's query and missed by another's)."""
    if connection.vendor == "postgresql" and not connection.savepoint_ids:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
    yield


def _export_model(zf, model, tenant, user_ids: set[int]) -> int:
    fields = model._meta.concrete_fields
    users, paths = _user_fks(model), _path_columns(model)
    count, files = 0, []
    rows = (
        model.unscoped.filter(tenant_id=tenant.pk)
        .order_by("pk")
        .values_list(*[f.attname for f in fields])
    )
    with zf.open(f"{model._meta.label_lower}.jsonl", "w") as out:
        for values in rows.iterator(chunk_size=BATCH):
            row = dict(zip([f.attname for f in fields], values, strict=True))
            user_ids.update(row[u] for u in users if row[u] is not None)
            out.write(_line(row))
            count += 1
            files.extend(row[p] for p in paths if row[p])
    for path in files:  # a zip takes one open member at a time
        _export_file(zf, path)
    return count


def _export_file(zf, path: str) -> None:
    if not default_storage.exists(path):
        return  # a row whose file is already gone (e.g. a finished import's upload)
    with default_storage.open(path, "rb") as src, zf.open(f"files/{path}", "w") as out:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            out.write(chunk)


def _export_users(zf, tenant: Tenant, user_ids: set[int]) -> int:
    membership = apps.get_model("crm", "Membership")
    from_memberships = membership.unscoped.filter(tenant_id=tenant.pk).values_list("user_id")
    users = User.objects.filter(models.Q(pk__in=user_ids) | models.Q(pk__in=from_memberships))
    count = 0
    with zf.open("crm.user.jsonl", "w") as out:
        for row in users.order_by("pk").values("id", *USER_FIELDS).iterator(chunk_size=BATCH):
            out.write(_line(row))
            count += 1
    return count


# --- import ---------------------------------------------------------------------------


@dataclass
class Imported:
    tenant: Tenant
    counts: dict[str, int]
    ids: dict[str, dict[int, int]] = field(repr=False)


def read_manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except (KeyError, ValueError) as exc:
        raise TransferError("This is not a Keel tenant export (no manifest.json).") from exc
    if manifest.get("format") != FORMAT:
        raise TransferError(f"Unknown export format {manifest.get('format')!r}; need {FORMAT}.")
    return manifest


def check_schema(manifest: dict[str, Any], order: list[type[models.Model]]) -> None:
    here = schema_state(set(manifest["migrations"]) | _apps_of(order))
    theirs = manifest["migrations"]
    differ = sorted(app for app in here if here[app] != theirs.get(app, []))
    if differ:
        details = []
        for app in differ:
            missing = sorted(set(theirs.get(app, [])) - set(here[app]))
            extra = sorted(set(here[app]) - set(theirs.get(app, [])))
            details.append(f"{app} (file only: {missing or 'none'}; here only: {extra or 'none'})")
        raise TransferError(
            "The file was exported from a different schema version; migrate both databases "
            "to the same Keel version first. Differing apps: " + "; ".join(details)
        )


def import_tenant(source: IO[bytes], *, slug: str | None = None) -> Imported:
    """Load an export as a new tenant (under `slug`, or the exported one); all or nothing."""
    try:
        zf = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise TransferError("This is not a Keel tenant export (not a zip file).") from exc
    with zf:
        manifest = read_manifest(zf)
        order, deferred = _ordered(_found())
        check_schema(manifest, order)
        row = next(_jsonl(zf, "crm.tenant.json"))
        written: list[str] = []
        try:
            with transaction.atomic():
                tenant = _create_tenant(row, slug or row["slug"])
                loader = _Loader(zf, tenant, old_tenant=row["id"], written=written)
                loader.users()
                with tenant_context(tenant):
                    for model in order:
                        loader.model(model, deferred)
                    loader.second_pass()
        except BaseException:
            for path in written:
                default_storage.delete(path)
            raise
    return Imported(tenant, loader.counts, loader.ids)


def _create_tenant(row: dict[str, Any], slug: str) -> Tenant:
    """The new Tenant row, as crm.services.create_tenant makes one, without
    KEEL_TENANT_SETUP: the export brings its pipelines and settings along."""
    if Tenant.objects.filter(slug=slug).exists():
        raise TransferError(f"The slug {slug!r} is taken; choose another with --slug.")
    tenant = Tenant(
        slug=slug, **{f: _decode(Tenant._meta.get_field(f), row[f]) for f in TENANT_FIELDS}
    )
    try:
        tenant.full_clean()
    except ValidationError as exc:
        raise TransferError("; ".join(exc.messages)) from exc
    tenant.save()
    return tenant


def _jsonl(zf: zipfile.ZipFile, name: str) -> Iterator[dict[str, Any]]:
    try:
        raw = zf.open(name)
    except KeyError as exc:
        raise TransferError(f"The file lacks {name}.") from exc
    with raw, io.TextIOWrapper(raw, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise TransferError(f"{name}, line {number}: not valid JSON.") from exc


class _Loader:
    def __init__(self, zf, tenant: Tenant, *, old_tenant: int, written: list[str]) -> None:
        self.zf, self.tenant, self.old_tenant, self.written = zf, tenant, old_tenant, written
        self.ids: dict[str, dict[int, int]] = {"crm.tenant": {old_tenant: tenant.pk}}
        self.counts: dict[str, int] = {}
        self.later: list[tuple[type[models.Model], int, str, str, int]] = []

    def users(self) -> None:
        """Reuse the user with the same e-mail, else create it with the exported hash."""
        users = self.ids.setdefault("crm.user", {})
        for row in _jsonl(self.zf, "crm.user.jsonl"):
            user = User.objects.filter(email__iexact=row["email"]).first()
            if user is None:
                user = User(**{f: row[f] for f in USER_FIELDS})
                user.save()
            users[row["id"]] = user.pk
        self.counts["crm.user"] = len(users)

    def model(self, model: type[models.Model], deferred: set[tuple[str, str]]) -> None:
        label = model._meta.label_lower
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        later = {a for m, a in deferred if m == label}  # attnames
        batch: list[tuple[int, models.Model, dict[str, Any]]] = []
        self.ids[label] = {}
        for row in _jsonl(self.zf, f"{label}.jsonl"):
            batch.append(self._instance(model, fields, row, later))
            if len(batch) >= BATCH:
                self._flush(model, batch)
                batch = []
        self._flush(model, batch)
        self.counts[label] = len(self.ids[label])

    def _instance(self, model, fields, row, later):
        values, postponed = {}, {}
        for f in fields:
            value = row[f.attname]
            if isinstance(f, models.ForeignKey) and value is not None:
                target = f.related_model._meta.label_lower
                if f.attname in later:
                    postponed[f.name] = (target, value)
                    value = None
                else:
                    value = self._new_id(target, value, f)
            values[f.attname] = _decode(f, value)
        values["tenant_id"] = self.tenant.pk
        for type_column, id_column in _generic_refs(model):
            values[id_column] = self._generic(model, row[type_column], row[id_column], id_column)
        for column in _path_columns(model):
            values[column] = self._file(values[column])
        return row["id"], model(**values), postponed

    def _new_id(self, target: str, old: int, f: models.ForeignKey) -> int:
        known = self.ids.get(target)
        if known is None:
            return old  # a global row outside the export (same database cell assumed)
        try:
            return known[old]
        except KeyError as exc:
            raise TransferError(
                f"{f.model._meta.label}.{f.name} names a missing row {old}."
            ) from exc

    def _generic(self, model, type_label: str, old: int | None, column: str) -> int | None:
        if old is None:
            return None
        known = self.ids.get(type_label)
        if known is not None and old in known:
            return known[old]
        # The record is gone (its history stays) or of a type not exported.
        return None if model._meta.get_field(column).null else old

    def _file(self, path: str) -> str:
        """Copy an exported file under MEDIA_ROOT; a path naming the old tenant
        (`mail/<tenant>/…`, `imports/<tenant>/…`) names the new one instead."""
        if not path:
            return path
        parts = list(PurePosixPath(path).parts)
        if len(parts) > 1 and parts[1] == str(self.old_tenant):
            parts[1] = str(self.tenant.pk)
        try:
            src = self.zf.open(f"files/{path}")
        except KeyError:
            return path  # exported without its file (it was already gone)
        with src:
            saved = default_storage.save(str(PurePosixPath(*parts)), File(src))
        self.written.append(saved)
        return saved

    def _flush(self, model, batch) -> None:
        if not batch:
            return
        created = model.unscoped.bulk_create([instance for _, instance, _ in batch])
        known = self.ids[model._meta.label_lower]
        for (old, _, postponed), instance in zip(batch, created, strict=True):
            known[old] = instance.pk
            for name, (target, value) in postponed.items():
                self.later.append((model, instance.pk, name, target, value))

    def second_pass(self) -> None:
        """Set the FKs inserted null (self-references such as Contact.merged_into)."""
        updates: dict[tuple[type[models.Model], str], list[tuple[int, int]]] = defaultdict(list)
        for model, pk, name, target, value in self.later:
            updates[(model, name)].append((pk, self.ids[target][value]))
        for (model, name), pairs in updates.items():
            attname = model._meta.get_field(name).attname
            rows = [model(pk=pk, **{attname: value}) for pk, value in pairs]
            model.unscoped.bulk_update(rows, [name], batch_size=BATCH)
