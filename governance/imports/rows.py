"""Turning mapped CSV rows into organizations, contacts and deals, a chunk at a time.

An importer reads a chunk of rows (`plan`, no writes: the preview uses it too), matches
them with existing records by the duplicate keys of the contacts app (a contact's e-mail
or else its name, an organization's domain or else its normalized name, a deal's name
within its organization), and decides per row: create, update, unchanged or refuse (with
every reason). `apply` then writes: new organizations and contacts in bulk (validated
row by row first), changes to existing records through the contacts and pipeline
services (audit, events and rules included), deals through `create_deal`/`move_deal` so
stage criteria and assignment rules apply. A row is never dropped silently: it is
created, updated, unchanged, or refused with its reason.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.lookups import In
from django.utils import timezone

from contacts import services as contact_services
from contacts.choices import choice_options
from contacts.models import (
    AssignmentRule,
    ChoiceList,
    Contact,
    Organization,
    phone_validator,
)
from contacts.normalize import (
    normalize_domain,
    normalize_email,
    normalize_phone,
    normalize_url,
    organization_name_key,
    region_for_time_zone,
)
from contacts.selectors import contacts_by_email
from contacts.services.assignment import assign_new_contact
from contacts.services.common import snapshot
from contacts.services.records import CONTACT_FIELDS, ORGANIZATION_FIELDS
from crm import custom_fields
from crm.bulk import insert_rows
from crm.events import publish_many
from crm.models import AuditEvent, Membership, User
from crm.tenancy import current_tenant
from governance.imports.targets import CUSTOM, KIND_RECORD_TYPE
from pipeline import services as deal_services
from pipeline.models import Deal, Pipeline, Stage
from pipeline.services import DealChanged, StageCriteriaUnmet

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
_email_validator = EmailValidator()


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


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        parts = []
        for name, errors in exc.message_dict.items():
            prefix = "" if name == "__all__" else f"{_field_label(name)}: "
            parts += [f"{prefix}{m}" for m in errors]
        return " ".join(parts)
    return " ".join(exc.messages)


def _same_text(field: str, values: set[str]) -> Q:
    """Rows whose `field` is one of `values` in any case, for an index on lower(field).

    Python's lower() and SQL's LOWER() agree on PostgreSQL ("Groß" stays "groß"; casefold
    would make it "gross" and miss it); SQLite's LOWER() folds ASCII only, so the values as
    typed are asked for too. Callers compare the candidates again with casefold().
    """
    lowered = sorted({v.lower() for v in values})
    return Q(**{f"{field}__in": sorted(values)}) | Q(In(Lower(field), lowered))


def _changed(record: Any, data: dict[str, Any]) -> dict[str, Any]:
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


def _field_label(name: str) -> str:
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
                value = custom_fields.parse_text(defn, text)
            except ValidationError as exc:
                planned.refuse(_messages(exc))
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
                p.refuse(_messages(exc) if isinstance(exc, ValidationError) else str(exc))

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


# Contacts


class ContactImporter(Importer):
    kind = "contacts"
    model = Contact
    LIFECYCLES = Contact.Lifecycle.choices
    CHANNELS = Contact.Channel.choices

    def names(self, values: dict[str, str]) -> tuple[str, str]:
        first, last = values.get("first_name", ""), values.get("last_name", "")
        full = values.get("full_name", "")
        if full and not first and not last:
            if "," in full:  # "Doe, Jane"
                last, _, first = (p.strip() for p in full.partition(","))
            else:
                parts = full.split()
                first, last = parts[0], " ".join(parts[1:])
        return first.strip(), last.strip()

    def key(self, values: dict[str, str]) -> str:
        email = normalize_email(values.get("email", ""))
        if email:
            return f"email:{email}"
        first, last = self.names(values)
        return f"name:{first.casefold()}|{last.casefold()}" if first else ""

    def parse(self, row: Row) -> Planned:
        p = Planned(row)
        values = self.values(row)
        first, last = self.names(values)
        data: dict[str, Any] = {}
        for name, value, limit in (("first_name", first, 100), ("last_name", last, 100)):
            if value:
                data[name] = value
                if len(value) > limit:
                    p.refuse(f"{_field_label(name)} is longer than {limit} characters.")
        if "email" in values:
            email = normalize_email(values["email"])
            try:
                _email_validator(email)
                data["email"] = email
            except ValidationError:
                p.refuse(f"E-mail “{values['email']}” is not an e-mail address.")
            if len(email) > 254:
                p.refuse("E-mail is longer than 254 characters.")
        if "phone" in values:
            data["phone"] = self.phone(values["phone"], p)
        if "job_title" in values:
            data["job_title"] = values["job_title"]
            if len(values["job_title"]) > 150:
                p.refuse("Job title is longer than 150 characters.")
        if "lead_source" in values:
            data["lead_source"] = self.choice(
                ChoiceList.LEAD_SOURCE, values["lead_source"], p, "Lead source"
            )
        if "lifecycle" in values:
            data["lifecycle"] = self.enum(
                self.LIFECYCLES, values["lifecycle"], p, "Lifecycle stage"
            )
        if "preferred_channel" in values:
            data["preferred_channel"] = self.enum(
                self.CHANNELS, values["preferred_channel"], p, "Preferred channel"
            )
        if "owner" in values:
            data["owner"] = self.owner(values["owner"], p)
        p.org_name = values.get("organization", "")
        self.custom_values(values, p)
        p.data = {k: v for k, v in data.items() if v is not None}
        return p

    def plan(self, rows: list[Row]) -> list[Planned]:
        planned = [self.parse(r) for r in rows]
        self.mark_duplicates(planned, "e-mail address or name")
        emails = {p.data["email"] for p in planned if p.data.get("email")}
        by_email: dict[str, Contact] = {}
        if emails:
            by_email = {c.email.lower(): c for c in contacts_by_email(emails)}
        nameless = [p for p in planned if not p.data.get("email") and p.data.get("first_name")]
        by_name: dict[tuple[str, str], list[Contact]] = defaultdict(list)
        if nameless:
            typed = {p.data.get("last_name", "") for p in nameless}
            found = Contact.objects.live().filter(_same_text("last_name", typed))
            for c in found:
                by_name[(c.first_name.casefold(), c.last_name.casefold())].append(c)
        self.orgs = OrganizationLinker(self)
        self.orgs.load({p.org_name for p in planned}, set())
        for p in planned:
            if p.action == ERROR:
                # Say everything that is wrong with the row at once, not one thing a run.
                if not p.data.get("first_name") and not by_email.get(p.data.get("email", "")):
                    p.refuse("First name is missing (map a first-name or name column).")
                continue
            existing = None
            if p.data.get("email"):
                existing = by_email.get(p.data["email"])
            elif p.data.get("first_name"):
                matches = by_name.get(
                    (p.data["first_name"].casefold(), p.data.get("last_name", "").casefold()), []
                )
                if len(matches) > 1:
                    p.refuse(
                        f"{len(matches)} contacts are named {p.data['first_name']} "
                        f"{p.data.get('last_name', '')}; add their e-mail addresses so the "
                        "import can tell them apart."
                    )
                    continue
                existing = matches[0] if matches else None
            if existing is None:
                self.plan_create(p)
            else:
                self.plan_update(p, existing)
        return planned

    def plan_create(self, p: Planned) -> None:
        if not p.data.get("first_name"):
            p.refuse("First name is missing (map a first-name or name column).")
            return
        self.check_required_custom(p, {})
        if p.action != ERROR:
            p.action = CREATE

    def plan_update(self, p: Planned, contact: Contact) -> None:
        p.record = contact
        changes = _changed(contact, p.data)
        if p.org_name:
            org = self.orgs.find(p.org_name)
            if org is None or org.pk != contact.organization_id:
                changes["organization"] = p.org_name  # found or created when applied
        merged = self.custom_changes(p, contact.custom_fields)
        if merged is not None:
            changes["custom_fields"] = merged
        self.check_required_custom(p, contact.custom_fields)
        if p.action == ERROR:
            return
        p.changes = changes
        p.action = UPDATE if changes else UNCHANGED

    def apply(self, planned: list[Planned]) -> ChunkResult:
        creates = [p for p in planned if p.action == CREATE]
        for p in [*creates, *(p for p in planned if p.action == UPDATE)]:
            if p.org_name and (p.action == CREATE or "organization" in p.changes):
                org = self.orgs.get_or_create(p.org_name)
                if p.action == CREATE:
                    p.data["organization"] = org
                else:
                    p.changes["organization"] = org
        orgs_created = self.orgs.save_created()
        contacts = self.build_contacts(creates)
        self.save_contacts(contacts)
        for p in creates:
            if p.action == CREATE and (p.record is None or p.record.pk is None):
                p.refuse("Another contact took this e-mail address while importing.")
        self.apply_updates(
            planned, lambda p: contact_services.update_contact(p.record, by=self.by, **p.changes)
        )
        result = self.result(planned)
        result.organizations_created = orgs_created
        return result

    def build_contacts(self, creates: list[Planned]) -> list[Contact]:
        """The new contacts of the chunk, built from values parse() validated."""
        now = timezone.now()
        contacts = []
        for p in creates:
            data = dict(p.data)
            lifecycle = data.pop("lifecycle", Contact.Lifecycle.LEAD)
            contact = Contact(
                tenant=self.tenant,
                lifecycle=lifecycle,
                created_lifecycle=lifecycle,
                custom_fields=p.custom,
                created_by=self.by,
                updated_by=self.by,
                created_at=now,
                updated_at=now,
                **data,
            )
            # parse() checked every value the model would (lengths, formats, choices),
            # so the model's own clean_fields (a tenth of the import's time) is not run.
            p.record = contact
            contacts.append(contact)
        return contacts

    def save_contacts(self, contacts: list[Contact]) -> None:
        if not contacts:
            return
        try:
            with transaction.atomic():
                insert_rows(contacts)
        except IntegrityError:
            # Someone added one of these e-mail addresses meanwhile: go row by row.
            for contact in contacts:
                contact.pk = None
                try:
                    with transaction.atomic():
                        contact.save()
                except IntegrityError:
                    contact.pk = None
            contacts[:] = [c for c in contacts if c.pk]
        self.audit_created(contacts, CONTACT_FIELDS)
        publish_many("contact.created", targets=contacts, actor=self.by)
        unowned = [c for c in contacts if c.owner_id is None]
        if unowned and AssignmentRule.objects.filter(is_active=True).exists():
            for contact in unowned:
                assign_new_contact(contact, by=self.by)

    def audit_created_orgs(self, orgs: list[Organization]) -> None:
        previous, self.model = self.model, Organization
        self.audit_created(orgs, ORGANIZATION_FIELDS)
        self.model = previous


# Organizations


class OrganizationImporter(Importer):
    kind = "organizations"
    model = Organization
    LIFECYCLES = Organization.Lifecycle.choices
    TEXT_LIMITS = {"street": 200, "postal_code": 20, "city": 100, "region": 100, "country": 100}

    def domain(self, values: dict[str, str]) -> str:
        return normalize_domain(values.get("domain", "")) or normalize_domain(
            values.get("website", "")
        )

    def key(self, values: dict[str, str]) -> str:
        domain = self.domain(values)
        if domain:
            return f"domain:{domain}"
        name_key = organization_name_key(values.get("name", ""))
        return f"name:{name_key}" if name_key else ""

    def parse(self, row: Row) -> Planned:
        p = Planned(row)
        values = self.values(row)
        data: dict[str, Any] = {}
        if "name" in values:
            data["name"] = values["name"][:200]
        domain = self.domain(values)
        if domain:
            data["domain"] = domain
        if "website" in values:
            data["website"] = normalize_url(values["website"])
        if "phone" in values:
            data["phone"] = self.phone(values["phone"], p)
        for list_name, label in (
            (ChoiceList.INDUSTRY, "Industry"),
            (ChoiceList.SIZE_BAND, "Company size"),
            (ChoiceList.REVENUE_RANGE, "Annual revenue"),
        ):
            if str(list_name) in values:
                data[str(list_name)] = self.choice(list_name, values[str(list_name)], p, label)
        if "lifecycle" in values:
            data["lifecycle"] = self.enum(self.LIFECYCLES, values["lifecycle"], p, "Lifecycle")
        if "owner" in values:
            data["owner"] = self.owner(values["owner"], p)
        for name, limit in self.TEXT_LIMITS.items():
            if name in values:
                if len(values[name]) > limit:
                    p.refuse(
                        f"{name.replace('_', ' ').capitalize()} is longer than {limit} characters."
                    )
                data[name] = values[name]
        self.custom_values(values, p)
        p.data = {k: v for k, v in data.items() if v is not None}
        return p  # fmt: skip

    def plan(self, rows: list[Row]) -> list[Planned]:
        planned = [self.parse(r) for r in rows]
        self.mark_duplicates(planned, "domain or name")
        self.orgs = OrganizationLinker(self)
        self.orgs.load(
            {p.data.get("name", "") for p in planned}, {p.data.get("domain", "") for p in planned}
        )
        for p in planned:
            if p.action == ERROR:
                continue
            existing = self.orgs.find(p.data.get("name", ""), p.data.get("domain", ""))
            if existing is None:
                if not p.data.get("name"):
                    p.refuse("Name is missing (map a name column).")
                    continue
                self.check_required_custom(p, {})
                if p.action != ERROR:
                    p.action = CREATE
                continue
            p.record = existing
            changes = _changed(existing, p.data)
            merged = self.custom_changes(p, existing.custom_fields)
            if merged is not None:
                changes["custom_fields"] = merged
            self.check_required_custom(p, existing.custom_fields)
            if p.action != ERROR:
                p.changes = changes
                p.action = UPDATE if changes else UNCHANGED
        return planned  # fmt: skip

    def apply(self, planned: list[Planned]) -> ChunkResult:
        now = timezone.now()
        orgs = []
        for p in planned:
            if p.action != CREATE:
                continue
            org = Organization(
                tenant=self.tenant,
                name_key=organization_name_key(p.data["name"]),
                custom_fields=p.custom,
                created_by=self.by,
                updated_by=self.by,
                created_at=now,
                updated_at=now,
                **p.data,
            )
            try:
                org.clean_fields(
                    exclude=["tenant", "owner", "created_by", "updated_by", "merged_into"]
                )
            except ValidationError as exc:
                p.refuse(_messages(exc))
                continue
            p.record = org
            orgs.append(org)
        if orgs:
            Organization.objects.bulk_create(orgs, batch_size=1000)
            self.audit_created(orgs, ORGANIZATION_FIELDS)
        self.apply_updates(
            planned,
            lambda p: contact_services.update_organization(p.record, by=self.by, **p.changes),
        )
        return self.result(planned)  # fmt: skip

    def audit_created_orgs(self, orgs: list[Organization]) -> None:
        self.audit_created(orgs, ORGANIZATION_FIELDS)


# Deals


class DealImporter(Importer):
    kind = "deals"
    model = Deal
    DATE_FIELDS = ("expected_close", "contract_start", "contract_end")
    MONEY_FIELDS = ("amount", "budget")
    TEXT_LIMITS = {"authority": 200, "need": 2000, "timeline": 200}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipelines = {p.name.casefold(): p for p in Pipeline.objects.all()}
        self.stages = list(Stage.objects.active().select_related("pipeline"))
        self.default_pipeline = next(
            (p for p in self.pipelines.values() if p.kind == Pipeline.Kind.SALES),
            next(iter(self.pipelines.values()), None),
        )

    def key(self, values: dict[str, str]) -> str:
        name = values.get("name", "").strip().casefold()
        if not name:
            return ""
        org = organization_name_key(values.get("organization", ""))
        return f"deal:{name}|{org or values.get('primary_contact', '').casefold()}"

    @staticmethod
    def money(text: str, p: Planned, label: str) -> Decimal | None:
        cleaned = "".join(c for c in text if c.isdigit() or c in ",.-")
        if "," in cleaned and "." in cleaned:
            thousands = "." if cleaned.rfind(",") > cleaned.rfind(".") else ","
            cleaned = cleaned.replace(thousands, "").replace(",", ".")
        elif cleaned.count(",") == 1 and len(cleaned.split(",")[1]) != 3:
            cleaned = cleaned.replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
        try:
            value = Decimal(cleaned).quantize(Decimal("0.01"))
        except InvalidOperation:
            p.refuse(f"{label} “{text}” is not an amount.")
            return None
        if value < 0 or value >= Decimal("1e12"):
            p.refuse(f"{label} “{text}” is out of range.")
            return None
        return value

    @staticmethod
    def day(text: str, p: Planned, label: str) -> date | None:
        parsed = custom_fields.parse_date(text.strip()) or text.strip()
        try:
            return date.fromisoformat(parsed)
        except ValueError:
            p.refuse(f"{label} “{text}” is not a date (write 2026-03-31).")
            return None

    def parse(self, row: Row) -> Planned:
        p = Planned(row)
        values = self.values(row)
        data: dict[str, Any] = {}
        if "name" in values:
            data["name"] = values["name"][:200]
        for name in self.MONEY_FIELDS:
            if name in values:
                data[name] = self.money(values[name], p, name.capitalize())
        for name in self.DATE_FIELDS:
            if name in values:
                data[name] = self.day(values[name], p, name.replace("_", " ").capitalize())
        if "currency" in values:
            data["currency"] = values["currency"].strip().upper()
        if "source" in values:
            data["source"] = self.choice(ChoiceList.LEAD_SOURCE, values["source"], p, "Source")
        for name, limit in self.TEXT_LIMITS.items():
            if name in values:
                if len(values[name]) > limit:
                    p.refuse(f"{name.capitalize()} is longer than {limit} characters.")
                data[name] = values[name]
        if "owner" in values:
            data["owner"] = self.owner(values["owner"], p)
        p.org_name = values.get("organization", "")
        p.org_domain = (
            normalize_domain(p.org_name) if "." in p.org_name and " " not in p.org_name else ""
        )
        data["_contact_email"] = normalize_email(values.get("primary_contact", ""))
        data["_pipeline"] = values.get("pipeline", "")
        data["_stage"] = values.get("stage", "")
        self.custom_values(values, p)
        p.data = {k: v for k, v in data.items() if v is not None}
        return p  # fmt: skip

    def stage_for(self, p: Planned) -> tuple[Pipeline | None, Stage | None]:
        pipeline_name, stage_name = p.data.pop("_pipeline", ""), p.data.pop("_stage", "")
        pipeline = self.default_pipeline
        if pipeline_name:
            pipeline = self.pipelines.get(pipeline_name.casefold())
            if pipeline is None:
                p.refuse(f"There is no pipeline named “{pipeline_name}”.")
                return None, None
        if pipeline is None:
            p.refuse("This workspace has no pipeline yet.")
            return None, None
        if not stage_name:
            return pipeline, None
        stage = next(
            (
                s
                for s in self.stages
                if s.pipeline_id == pipeline.pk and s.name.casefold() == stage_name.casefold()
            ),
            None,
        )
        if stage is None:
            p.refuse(f"{pipeline} has no stage named “{stage_name}”.")
        elif stage.is_terminal:
            p.refuse(
                f"Import open deals only; “{stage.name}” closes a deal (win or lose it in Keel)."
            )
            stage = None
        return pipeline, stage  # fmt: skip

    def plan(self, rows: list[Row]) -> list[Planned]:
        planned = [self.parse(r) for r in rows]
        self.mark_duplicates(planned, "deal name and organization")
        self.orgs = OrganizationLinker(self)
        self.orgs.load({p.org_name for p in planned}, {p.org_domain for p in planned})
        emails = {p.data.get("_contact_email") for p in planned} - {"", None}
        contacts = {c.email.lower(): c for c in contacts_by_email(emails)} if emails else {}
        names = {p.data.get("name", "") for p in planned} - {""}
        by_name: dict[str, list[Deal]] = defaultdict(list)
        if names:
            for deal in Deal.objects.filter(_same_text("name", names)):
                by_name[deal.name.casefold()].append(deal)
        for p in planned:
            email = p.data.pop("_contact_email", "")
            pipeline, stage = self.stage_for(p)
            if p.action == ERROR:
                continue
            contact = contacts.get(email) if email else None
            if email and contact is None:
                p.refuse(f"No contact has the e-mail address {email}; import the contacts first.")
                continue
            if contact is not None:
                p.data["primary_contact"] = contact
            if not p.data.get("name"):
                p.refuse("Deal name is missing (map a name column).")
                continue
            if not p.org_name and contact is None:
                p.refuse("Link the deal to an organization or a primary contact (map one).")
                continue
            org = self.orgs.find(p.org_name, p.org_domain) if p.org_name else None
            same_name = by_name.get(p.data["name"].casefold(), [])
            if org is not None:
                candidates = [d for d in same_name if d.organization_id == org.pk]
            elif p.org_name:
                candidates = []  # its organization is new, so is the deal
            else:
                candidates = [d for d in same_name if d.primary_contact_id == contact.pk]
            if len(candidates) > 1:
                p.refuse(
                    f"{len(candidates)} deals are named {p.data['name']} here; the import "
                    "cannot tell which one to update."
                )
                continue
            p.data["_pipeline_obj"], p.data["_stage_obj"] = pipeline, stage
            if candidates:
                self.plan_update(p, candidates[0], org)
            else:
                self.check_required_custom(p, {})
                if p.action != ERROR:
                    p.action = CREATE
        return planned

    def plan_update(self, p: Planned, deal: Deal, org: Organization | None) -> None:
        p.record = deal
        stage = p.data.pop("_stage_obj", None)
        p.data.pop("_pipeline_obj", None)
        changes = _changed(deal, p.data)
        if org is not None and org.pk != deal.organization_id:
            changes["organization"] = org
        merged = self.custom_changes(p, deal.custom_fields)
        if merged is not None:
            changes["custom_fields"] = merged
        self.check_required_custom(p, deal.custom_fields)
        if p.action == ERROR:
            return
        if stage is not None and stage.pk != deal.stage_id:
            if stage.pipeline_id != deal.pipeline_id:
                p.refuse(f"The deal is in {deal.pipeline}; “{stage.name}” is in another pipeline.")
                return
            changes["_move_to"] = stage
        p.changes = changes
        p.action = UPDATE if changes else UNCHANGED

    def apply(self, planned: list[Planned]) -> ChunkResult:
        for p in planned:
            if p.action == CREATE and p.org_name:
                p.data["organization"] = self.orgs.get_or_create(p.org_name, p.org_domain)
        orgs_created = self.orgs.save_created()
        for p in planned:
            if p.action != CREATE:
                continue
            data = dict(p.data)
            pipeline, stage = data.pop("_pipeline_obj"), data.pop("_stage_obj")
            if p.custom:
                data["custom_fields"] = p.custom
            try:
                with transaction.atomic():
                    p.record = deal_services.create_deal(
                        by=self.by, pipeline=pipeline, stage=stage, **data
                    )
            except StageCriteriaUnmet as exc:
                p.refuse(" ".join(u.label for u in exc.unmet))
            except (ValidationError, PermissionDenied) as exc:
                p.refuse(_messages(exc) if isinstance(exc, ValidationError) else str(exc))

        def update(p: Planned) -> None:
            changes = dict(p.changes)
            move_to = changes.pop("_move_to", None)
            if changes:
                deal_services.update_deal(p.record, by=self.by, **changes)
            if move_to is not None:
                try:
                    deal_services.move_deal(p.record, to_stage=move_to, by=self.by)
                except StageCriteriaUnmet as exc:
                    raise ValidationError(" ".join(u.label for u in exc.unmet)) from exc

        self.apply_updates(planned, update)
        result = self.result(planned)
        result.organizations_created = orgs_created
        return result  # fmt: skip

    def audit_created_orgs(self, orgs: list[Organization]) -> None:
        previous, self.model = self.model, Organization
        self.audit_created(orgs, ORGANIZATION_FIELDS)
        self.model = previous


IMPORTERS: dict[str, type[Importer]] = {
    "contacts": ContactImporter,
    "organizations": OrganizationImporter,
    "deals": DealImporter,
}
