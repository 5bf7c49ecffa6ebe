"""What the three importers share: a planned row, reading cells, members, choice lists and
custom fields, auditing bulk-created records, and linking organizations by name or domain.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.lookups import In

from contacts.choices import choice_options
from contacts.models import Contact, Organization, phone_validator
from contacts.normalize import normalize_phone, organization_name_key, region_for_time_zone
from contacts.services.common import snapshot
from crm import custom_fields
from crm.bulk import insert_rows
from crm.custom_fields.values import parse_text
from crm.models import AuditEvent, Membership, User
from crm.tenancy import current_tenant
from governance.imports.targets import CUSTOM, KIND_RECORD_TYPE
from pipeline.services import DealChanged

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"


@dataclass
class Row:
    number: int  # the spreadsheet row (header = 1)
    cells: list[str]
    duplicate_of: int = 0  # an earlier row of the file with the same key


@dataclass
class Planned:
    row: Row
    action: str = CREATE
    errors: list[str] = field(default_factory=list)
    record: Any = None  # the existing record (update, unchanged)
    data: dict[str, Any] = field(default_factory=dict)  # built-in values to set
    custom: dict[str, Any] = field(default_factory=dict)  # custom values to set
    changes: dict[str, Any] = field(default_factory=dict)  # for updates: service kwargs
    org_name: str = ""  # an organization to link by name (created when missing)
    org_domain: str = ""

    def refuse(self, message: str) -> None:
        self.errors.append(message)
        self.action = ERROR

    @property
    def summary(self) -> str:
        return " ".join(self.errors)


@dataclass
class ChunkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    organizations_created: int = 0
    errors: list[tuple[int, str, list[str]]] = field(default_factory=list)


def error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        parts = []
        for name, errors in exc.message_dict.items():
            prefix = "" if name == "__all__" else f"{field_label(name)}: "
            parts += [f"{prefix}{m}" for m in errors]
        return " ".join(parts)
    return " ".join(exc.messages)


def same_text(field: str, values: set[str]) -> Q:
    """Rows whose `field` is one of `values` in any case, for an index on lower(field).

    Python's lower() and SQL's LOWER() agree on PostgreSQL ("Groß" stays "groß"; casefold
    would make it "gross" and miss it); SQLite's LOWER() folds ASCII only, so the values as
    typed are asked for too. Callers compare the candidates again with casefold().
    """
    lowered = sorted({v.lower() for v in values})
    return Q(**{f"{field}__in": sorted(values)}) | Q(In(Lower(field), lowered))


def changed_values(record: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The values of `data` that differ from the record's (related records by id)."""
    changes = {}
    for name, value in data.items():
        field = record._meta.get_field(name)
        current = getattr(record, field.attname)
        if current != (value.pk if field.is_relation and value is not None else value):
            changes[name] = value
    return changes


@functools.lru_cache(maxsize=8192)
def _name_key(name: str) -> str:
    return organization_name_key(name)


def _created(record: Any, fields: list[str], job_id: int | None) -> dict[str, Any]:
    """An imported record's creation as the audit trail keeps it: its filled-in values
    (blank ones are left out: thousands of rows, each a little smaller) and the import."""
    values = snapshot(record, fields)
    changes = {k: [None, v] for k, v in values.items() if v not in (None, "", {}, [])}
    changes["import"] = [None, job_id]
    return changes


def field_label(name: str) -> str:
    if name.startswith(custom_fields.PREFIX):
        return ""  # custom-field messages name their field already
    return name.replace("_", " ").capitalize()


class Importer:
    """What the three kinds share: reading cells, members, choice lists, custom fields."""

    kind = ""
    model: type = Contact

    def __init__(self, *, mapping: dict[str, str], by: User | None, job_id: int | None = None):
        self.mapping = {int(i): t for i, t in mapping.items()}
        self.by = by
        self.job_id = job_id
        self.record_type = KIND_RECORD_TYPE[self.kind]
        self.tenant = current_tenant()
        self.region = region_for_time_zone(self.tenant.time_zone)
        self.definitions = {d.key: d for d in custom_fields.definitions(self.record_type)}
        self.required_custom = [d for d in self.definitions.values() if d.is_required]
        self._members: dict[str, User] | None = None
        self._choices: dict[str, dict[str, str]] | None = None

    # Reading a row

    def values(self, row: Row) -> dict[str, str]:
        out = {}
        for index, target in self.mapping.items():
            if index < len(row.cells):
                value = row.cells[index].strip()
                if value:
                    out[target] = value
        return out

    def key(self, values: dict[str, str]) -> str:
        raise NotImplementedError

    def members(self) -> dict[str, User]:
        """Active members by lower-case e-mail and by lower-case full name."""
        if self._members is None:
            users = User.objects.filter(
                pk__in=Membership.objects.filter(is_active=True).values("user_id")
            )
            found: dict[str, User] = {}
            for user in users:
                found[user.email.casefold()] = user
                if user.full_name:
                    found.setdefault(user.full_name.casefold(), user)
            self._members = found
        return self._members

    def owner(self, text: str, planned: Planned) -> User | None:
        user = self.members().get(text.strip().casefold())
        if user is None:
            planned.refuse(
                f"Owner “{text}” is not an active member of this workspace "
                "(use a member's e-mail address)."
            )
        return user

    def choice(self, list_name: str, text: str, planned: Planned, label: str) -> str:
        """A value offered by an editable choice list, given as its value or its label."""
        if self._choices is None:
            self._choices = {}
        if list_name not in self._choices:
            self._choices[list_name] = dict(choice_options(list_name))
        options = self._choices[list_name]
        wanted = text.strip().casefold()
        for value, option_label in options.items():
            if wanted in (value.casefold(), option_label.casefold()):
                return value
        shown = ", ".join(list(options.values())[:8])
        planned.refuse(f"{label} “{text}” is not on the list ({shown}…).")
        return ""

    @staticmethod
    def enum(choices: list[tuple[str, str]], text: str, planned: Planned, label: str) -> str:
        wanted = text.strip().casefold()
        for value, option_label in choices:
            if wanted in (value.casefold(), str(option_label).casefold()):
                return value
        shown = ", ".join(str(lbl) for _, lbl in choices)
        planned.refuse(f"{label} “{text}” is not one of: {shown}.")
        return ""

    def custom_values(self, values: dict[str, str], planned: Planned) -> None:
        for target, text in values.items():
            if not target.startswith(CUSTOM):
                continue
            defn = self.definitions.get(target[len(CUSTOM) :])
            if defn is None:
                continue
            try:
                value = parse_text(defn, text)
            except ValidationError as exc:
                planned.refuse(error_text(exc))
                continue
            if value is not None:
                planned.custom[defn.key] = value

    def check_required_custom(self, planned: Planned, current: dict[str, Any]) -> None:
        merged = {**current, **planned.custom}
        for defn in self.required_custom:
            if custom_fields.is_blank(merged.get(defn.key)):
                planned.refuse(f"{defn.label} is required and missing.")

    def phone(self, text: str, planned: Planned) -> str:
        value = normalize_phone(text, region=self.region)
        try:
            phone_validator(value)
        except ValidationError:
            planned.refuse(f"Phone “{text}” is not a phone number.")
            return ""
        if len(value) > 40:
            planned.refuse(f"Phone “{text}” is too long.")
        return value

    def custom_changes(self, planned: Planned, current: dict[str, Any]) -> dict[str, Any] | None:
        merged = dict(current or {})
        merged.update(planned.custom)
        return merged if merged != (current or {}) else None

    # Writing

    def audit_created(self, records: list[Any], fields: list[str]) -> None:
        label = self.model._meta.label_lower
        verb = f"{self.model._meta.model_name}.created"
        insert_rows(
            [
                AuditEvent(
                    tenant=self.tenant,
                    actor=self.by,
                    verb=verb,
                    target_type=label,
                    target_id=r.pk,
                    target_repr=str(r)[:255],
                    changes=_created(r, fields, self.job_id),
                )
                for r in records
            ]
        )

    def result(self, planned: list[Planned]) -> ChunkResult:
        out = ChunkResult()
        for p in planned:
            if p.action == ERROR:
                out.failed += 1
                out.errors.append((p.row.number, p.summary, p.row.cells))
            elif p.action == CREATE:
                out.created += 1
            elif p.action == UPDATE:
                out.updated += 1
            else:
                out.unchanged += 1
        return out

    def apply_updates(self, planned: list[Planned], update) -> None:
        """Existing records change through the app's service, one savepoint per row."""
        for p in planned:
            if p.action != UPDATE:
                continue
            try:
                with transaction.atomic():
                    update(p)
            except (ValidationError, PermissionDenied, DealChanged) as exc:
                p.refuse(error_text(exc) if isinstance(exc, ValidationError) else str(exc))

    def mark_duplicates(self, planned: list[Planned], what: str) -> None:
        for p in planned:
            if p.row.duplicate_of:
                p.refuse(
                    f"Same {what} as row {p.row.duplicate_of}; only that row is imported. "
                    "Merge the two rows in the file, or remove one."
                )


# Organizations (shared by the three importers: contacts and deals link to them)


class OrganizationLinker:
    """Finds organizations by name or domain for a chunk, creating the missing ones once."""

    def __init__(self, importer: Importer) -> None:
        self.importer = importer
        self.by_key: dict[str, Organization] = {}
        self.by_domain: dict[str, Organization] = {}
        self.created: list[Organization] = []

    def load(self, names: set[str], domains: set[str]) -> None:
        keys = {_name_key(n) for n in names if n} - {""}
        domains = {d for d in domains if d}
        if not keys and not domains:
            return
        found = Organization.objects.live().filter(Q(name_key__in=keys) | Q(domain__in=domains))
        for org in found.order_by("updated_at", "pk"):  # the most recent wins
            self.by_key[org.name_key] = org
            if org.domain:
                self.by_domain[org.domain] = org

    def find(self, name: str, domain: str = "") -> Organization | None:
        if domain and domain in self.by_domain:
            return self.by_domain[domain]
        return self.by_key.get(_name_key(name)) if name else None

    def get_or_create(self, name: str, domain: str = "") -> Organization:
        existing = self.find(name, domain)
        if existing is not None:
            return existing
        org = Organization(
            tenant=current_tenant(),
            name=name.strip()[:200],
            name_key=organization_name_key(name),
            domain=domain,
            created_by=self.importer.by,
            updated_by=self.importer.by,
        )
        self.by_key[org.name_key] = org
        if domain:
            self.by_domain[domain] = org
        self.created.append(org)
        return org

    def save_created(self) -> int:
        if not self.created:
            return 0
        insert_rows(self.created)
        self.importer.audit_created_orgs(self.created)
        count = len(self.created)
        self.created = []
        return count
