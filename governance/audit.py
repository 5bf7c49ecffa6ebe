"""Reading the audit trail: filters, and entries made readable (names instead of ids).

Entries are written only by `crm.audit.record_event` and never edited or deleted from
the app (there is no view that could; on PostgreSQL a trigger refuses it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from contacts.models import Contact, Organization
from crm import custom_fields
from crm.models import AuditEvent, FieldDefinition, Membership, User
from crm.templatetags.keel import tenant_reverse
from governance.models import DataExport, ErasureRequest, ImportJob
from pipeline.models import Deal, LostReason, Pipeline, Stage

# Changes whose values are ids of these models are shown with their names.
REFERENCES: dict[str, type] = {
    "owner": User,
    "assignee": User,
    "organization": Organization,
    "primary_contact": Contact,
    "stage": Stage,
    "lost_reason": LostReason,
    "pipeline": Pipeline,
}
LABELS = {
    "deal": Deal.CRITERION_FIELDS,
    "custom_fields": "Custom fields",
}
TARGET_PAGES: dict[str, str] = {
    "contacts.contact": "contacts:contact-detail",
    "contacts.organization": "contacts:organization-detail",
    "pipeline.deal": "pipeline:deal-detail",
    "governance.importjob": "governance:import-detail",
    "crm.fielddefinition": "governance:field-edit",
}
RECORD_TYPES = {
    "contacts.contact": "contact",
    "contacts.organization": "organization",
    "pipeline.deal": "deal",
}
MODELS_BY_LABEL = {
    "contacts.contact": Contact,
    "contacts.organization": Organization,
    "pipeline.deal": Deal,
    "pipeline.stage": Stage,
    "crm.fielddefinition": FieldDefinition,
    "crm.membership": Membership,
    "governance.importjob": ImportJob,
    "governance.dataexport": DataExport,
    "governance.erasurerequest": ErasureRequest,
}


def filtered(data: dict[str, Any]) -> QuerySet[AuditEvent]:
    """Entries matching the cleaned AuditFilterForm data, newest first."""
    entries = AuditEvent.objects.select_related("actor")
    if data.get("target"):
        label, _, pk = data["target"].partition(":")
        entries = entries.filter(target_type=label, target_id=int(pk))
    elif data.get("target_type"):
        entries = entries.filter(target_type=data["target_type"])
    if data.get("actor"):
        entries = entries.filter(actor_id=data["actor"])
    if data.get("verb"):
        verb = data["verb"].strip()
        entries = (
            entries.filter(verb=verb) if "." in verb else entries.filter(verb__startswith=verb)
        )
    if data.get("field"):
        name = data["field"]
        key = name.split(":", 1)[1] if name.startswith("custom:") else name
        # A custom field changes inside "custom_fields": [{…old}, {…new}].
        entries = entries.filter(
            Q(changes__has_key=name)
            | Q(changes__custom_fields__0__has_key=key)
            | Q(changes__custom_fields__1__has_key=key)
        )
    tz = timezone.get_current_timezone()
    if data.get("date_from"):
        entries = entries.filter(created_at__gte=_start(data["date_from"], tz))
    if data.get("date_to"):
        entries = entries.filter(created_at__lt=_start(data["date_to"] + timedelta(days=1), tz))
    return entries.order_by("-created_at", "-id")


def _start(day: date, tz) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class Entry:
    event: AuditEvent
    changes: list[Change]
    url: str
    record_label: str


def _label(target_type: str, name: str) -> str:
    if target_type == "pipeline.deal" and name in Deal.CRITERION_FIELDS:
        return Deal.CRITERION_FIELDS[name]
    return name.replace("_", " ").capitalize()


def _text(value: Any, names: dict[tuple[str, Any], str], field: str) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, int | str) and (field, value) in names:
        return names[(field, value)]
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(v, names, field) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def readable(events: list[AuditEvent]) -> list[Entry]:
    """The page's entries with their changes spelled out: ids become names (one query
    per referenced model), custom fields are shown one per field with their labels."""
    wanted: dict[str, set[Any]] = {}
    for event in events:
        for name, change in (event.changes or {}).items():
            if name in REFERENCES and isinstance(change, list):
                wanted.setdefault(name, set()).update(v for v in change if isinstance(v, int))
    names: dict[tuple[str, Any], str] = {}
    for name, ids in wanted.items():
        model = REFERENCES[name]
        manager = getattr(model, "unscoped", model.objects) if model is not User else User.objects
        for obj in manager.filter(pk__in=ids):
            names[(name, obj.pk)] = str(obj)
    entries = []
    for event in events:
        changes: list[Change] = []
        for name, change in (event.changes or {}).items():
            if not isinstance(change, list) or len(change) != 2:
                changes.append(
                    Change(name, _label(event.target_type, name), "", _text(change, names, name))
                )
                continue
            old, new = change
            if (
                name == "custom_fields"
                and isinstance(new, dict | type(None))
                and isinstance(old, dict | type(None))
            ):
                record_type = RECORD_TYPES.get(event.target_type, "")
                old, new = old or {}, new or {}
                for key in sorted(set(old) | set(new)):
                    if old.get(key) != new.get(key):
                        label = custom_fields.label(record_type, key) if record_type else key
                        changes.append(
                            Change(
                                f"custom:{key}",
                                label,
                                _text(old.get(key), names, key),
                                _text(new.get(key), names, key),
                            )
                        )
                continue
            changes.append(
                Change(
                    name,
                    _label(event.target_type, name),
                    _text(old, names, name),
                    _text(new, names, name),
                )
            )
        page = TARGET_PAGES.get(event.target_type)
        url = tenant_reverse(page, event.target_id) if page and event.target_id else ""
        record_label = dict((k, v._meta.verbose_name) for k, v in MODELS_BY_LABEL.items()).get(
            event.target_type, event.target_type.split(".")[-1]
        )
        entries.append(Entry(event, changes, url, str(record_label).capitalize()))
    return entries  # fmt: skip
