"""Reading the audit trail: filters, and entries made readable (names instead of ids).

Entries are written only by `crm.audit.record_event` and never edited or deleted from
the app (there is no view that could; on PostgreSQL a trigger refuses it too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst

from contacts.models import Contact, Organization
from crm import custom_fields
from crm.audit import is_blank, verb_label
from crm.models import AuditEvent, FieldDefinition, Membership, User
from crm.templatetags.keel import tenant_reverse
from crm.tenancy import current_tenant
from governance.models import DataExport, ErasureRequest, ImportJob
from pipeline.models import Deal, LostReason, Pipeline, Stage

# Changes whose values are ids of these models are shown with their names.
REFERENCES: dict[str, type] = {
    "owner": User,
    "assignee": User,
    "members": User,
    "organization": Organization,
    "contact": Contact,
    "primary_contact": Contact,
    "contacts": Contact,
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
# Records whose verbose name is not the word the pages use for them.
RECORD_NAMES = {
    "crm.tenant": "Workspace",
    "crm.fielddefinition": "Custom field",
    "api.apitoken": "API token",
    # Entries written before automation settings moved from contacts to crm keep their
    # label (the trail is never rewritten).
    "contacts.automationsettings": "Automation settings",
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
            entries.filter(verb=verb)
            if "." in verb
            else entries.filter(verb__startswith=f"{verb}.")
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
    old: str | None  # None: nothing to compare with (a new record, a one-off value)
    new: str


@dataclass(frozen=True)
class Entry:
    event: AuditEvent
    changes: list[Change]
    url: str
    record_label: str
    action: str  # the verb in words


# Values the recorders store as ISO strings (`contacts.services.common.jsonable`, str(date)).
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?"
)


def _label(target_type: str, name: str) -> str:
    if target_type == "pipeline.deal" and name in Deal.CRITERION_FIELDS:
        return Deal.CRITERION_FIELDS[name]
    return name.replace("_", " ").capitalize()


def record_label(target_type: str) -> str:
    """What kind of record an entry is about, in words: the model's verbose name."""
    if target_type in RECORD_NAMES:
        return RECORD_NAMES[target_type]
    try:
        name = apps.get_model(target_type)._meta.verbose_name
    except (LookupError, ValueError):
        name = target_type.rsplit(".", 1)[-1].replace("_", " ")
    return capfirst(str(name))


def _moment(value: str, tz: tzinfo) -> str | None:
    """An ISO date or date-time as the other pages show it, in the workspace's time zone."""
    try:
        if ISO_DATE.fullmatch(value):
            return date_format(date.fromisoformat(value), "j M Y")
        if ISO_DATETIME.fullmatch(value):
            moment = datetime.fromisoformat(value)
            if timezone.is_naive(moment):
                moment = moment.replace(tzinfo=tz)
            return date_format(timezone.localtime(moment, tz), "j M Y, H:i")
    except ValueError:  # 2024-02-30 looks like a date and is none
        pass
    return None


def _text(value: Any, names: dict[tuple[str, Any], str], field: str, tz: tzinfo) -> str:
    if is_blank(value):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | str) and (field, value) in names:
        return names[(field, value)]
    if isinstance(value, str):
        return _moment(value, tz) or value
    if isinstance(value, list):
        return ", ".join(_text(v, names, field, tz) for v in value)
    if isinstance(value, dict):
        return ", ".join(
            f"{_key(k)}: {_text(v, names, k, tz)}" for k, v in value.items() if not is_blank(v)
        )
    return str(value)


def _key(name: str) -> str:
    """A key inside a value: a field ("last_name") or a model ("contacts.activity", the rows
    a merge moved) in words."""
    return record_label(name) if "." in name else name.replace("_", " ")


def _ids(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list):
        return [i for v in value for i in _ids(v)]
    return []


def _sets_values(event: AuditEvent) -> bool:
    """A new record, or an action whose every value is new ("criterion: [null, …]"): the
    entry lists what was set, without a "before". An edit keeps its "— →" (it was empty)."""
    if event.verb.endswith(".created"):
        return True
    if event.verb.endswith((".updated", "_changed")):
        return False
    pairs = [c for c in (event.changes or {}).values() if isinstance(c, list) and len(c) == 2]
    return bool(pairs) and all(old is None for old, _ in pairs)


def _changes(event: AuditEvent, names: dict[tuple[str, Any], str], tz: tzinfo) -> list[Change]:
    sets_values = _sets_values(event)
    changes: list[Change] = []

    def add(field: str, label: str, old: Any, new: Any, *, pair: bool = True) -> None:
        if is_blank(new) and (sets_values or not pair or is_blank(old)):
            return  # nothing was set, or blank became blank
        old_text = _text(old, names, field, tz) if pair and not sets_values else None
        changes.append(Change(field, label, old_text, _text(new, names, field, tz)))

    for name, change in (event.changes or {}).items():
        if not isinstance(change, list) or len(change) != 2:
            add(name, _label(event.target_type, name), None, change, pair=False)
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
                    add(f"custom:{key}", label, old.get(key), new.get(key))
            continue
        add(name, _label(event.target_type, name), old, new)
    return changes


def readable(events: list[AuditEvent]) -> list[Entry]:
    """The page's entries in words: the verb as a phrase, ids become names (one query per
    referenced model), dates formatted in the workspace's time zone, custom fields one per
    field with their labels, and only the fields that were set on a new record."""
    wanted: dict[str, set[Any]] = {}
    for event in events:
        for name, change in (event.changes or {}).items():
            if name in REFERENCES and isinstance(change, list):
                wanted.setdefault(name, set()).update(_ids(change))
    names: dict[tuple[str, Any], str] = {}
    for name, ids in wanted.items():
        model = REFERENCES[name]
        manager = getattr(model, "unscoped", model.objects) if model is not User else User.objects
        for obj in manager.filter(pk__in=ids):
            names[(name, obj.pk)] = str(obj)
    tz = current_tenant().tz
    entries = []
    for event in events:
        changes = _changes(event, names, tz)
        page = TARGET_PAGES.get(event.target_type)
        url = tenant_reverse(page, event.target_id) if page and event.target_id else ""
        entries.append(
            Entry(event, changes, url, record_label(event.target_type), verb_label(event.verb))
        )
    return entries
