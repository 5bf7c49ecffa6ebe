"""Admins shape the records: custom fields, the standard choice lists, expected fields.

Every change records an audit event with what changed, and clears the definitions the
current request has memoised (`crm.custom_fields.forget_definitions`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from contacts.models import DEFAULT_CHOICES, ChoiceList, ChoiceOption
from crm import custom_fields
from crm.audit import diff, record_event
from crm.models import FieldDefinition, User
from crm.tenancy import current_tenant
from governance.models import QualitySettings
from pipeline.models import StageCriterion

Type = FieldDefinition.Type
CHOICE_TYPES = (Type.CHOICE, Type.MULTI_CHOICE)
FIELD_AUDIT = ["label", "help_text", "is_required", "choices", "position", "field_type", "key"]
MAX_FIELDS_PER_TYPE = 100


def key_from_label(label: str) -> str:
    """ "Decision maker?" -> "decision_maker"."""
    folded = unicodedata.normalize("NFKD", label)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    key = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")[:50]
    if not key or not key[0].isalpha():
        key = ("f_" + key)[:50]
    return key.rstrip("_") or "field"


def _clean_choices(field_type: str, choices: list[str]) -> list[str]:
    if field_type not in CHOICE_TYPES:
        return []
    cleaned: list[str] = []
    for choice in choices:
        choice = " ".join(str(choice).split())
        if not choice:
            continue
        if len(choice) > 100:
            raise ValidationError({"choices": f"“{choice[:30]}…” is longer than 100 characters."})
        if choice.casefold() in {c.casefold() for c in cleaned}:
            raise ValidationError({"choices": f"“{choice}” is on the list twice."})
        cleaned.append(choice)
    if not cleaned:
        raise ValidationError({"choices": "List the options, one per line."})
    if len(cleaned) > 200:
        raise ValidationError({"choices": "Offer at most 200 options."})
    return cleaned


def _snapshot(defn: FieldDefinition) -> dict[str, Any]:
    return {name: getattr(defn, name) for name in FIELD_AUDIT}


def create_field(
    *,
    by: User,
    record_type: str,
    label: str,
    field_type: str,
    key: str = "",
    help_text: str = "",
    is_required: bool = False,
    choices: list[str] | None = None,
) -> FieldDefinition:
    """Add a custom field at the end of the record type's list.

    The key (from the label unless given) is fixed for good: records store values under
    it. Refuses a key a field of the same record type has or had (a removed field can be
    restored instead), an unknown type, and a choice field without options.
    """
    label = " ".join((label or "").split())
    if not label:
        raise ValidationError({"label": "Give the field a label."})
    if record_type not in FieldDefinition.RecordType.values:
        raise ValidationError({"record_type": "Choose organizations, contacts or deals."})
    if field_type not in Type.values:
        raise ValidationError({"field_type": "Choose a type."})
    key = (key or key_from_label(label)).strip()
    if not custom_fields.KEY_RE.match(key):
        raise ValidationError(
            {"key": "Use lowercase letters, digits and underscores, starting with a letter."}
        )
    existing = FieldDefinition.objects.filter(record_type=record_type, key=key).first()
    if existing is not None:
        hint = " It was removed; restore it instead." if existing.archived_at else ""
        raise ValidationError({"key": f"A field with the key “{key}” exists.{hint}"})
    if FieldDefinition.objects.filter(record_type=record_type).count() >= MAX_FIELDS_PER_TYPE:
        raise ValidationError(f"A record type can have at most {MAX_FIELDS_PER_TYPE} fields.")
    position = (
        FieldDefinition.objects.filter(record_type=record_type).aggregate(m=Max("position"))["m"]
        or 0
    ) + 1
    defn = FieldDefinition(
        tenant=current_tenant(),
        record_type=record_type,
        key=key,
        label=label,
        field_type=field_type,
        help_text=(help_text or "").strip(),
        is_required=is_required,
        choices=_clean_choices(field_type, choices or []),
        position=position,
    )
    defn.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            defn.save()
            record_event(
                actor=by, verb="field.created", target=defn, changes=diff({}, _snapshot(defn))
            )
    except IntegrityError:
        raise ValidationError({"key": f"A field with the key “{key}” exists."}) from None
    custom_fields.forget_definitions()
    return defn


def update_field(
    defn: FieldDefinition,
    *,
    by: User,
    label: str,
    help_text: str = "",
    is_required: bool = False,
    choices: list[str] | None = None,
) -> FieldDefinition:
    """Change a field's label, help text, "always required" and options (not its key or
    type: the stored values depend on them). Records keep values of removed options."""
    before = _snapshot(defn)
    label = " ".join((label or "").split())
    if not label:
        raise ValidationError({"label": "Give the field a label."})
    defn.label, defn.help_text, defn.is_required = label, (help_text or "").strip(), is_required
    defn.choices = _clean_choices(defn.field_type, choices if choices is not None else defn.choices)
    defn.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    changes = diff(before, _snapshot(defn))
    if not changes:
        return defn
    with transaction.atomic():
        defn.save(update_fields=["label", "help_text", "is_required", "choices"])
        record_event(actor=by, verb="field.updated", target=defn, changes=changes)
    custom_fields.forget_definitions()
    return defn


def remove_field(defn: FieldDefinition, *, by: User) -> FieldDefinition:
    """Hide a field from forms, filters, imports and exports. Its values stay on the
    records (and show as removed on their pages) and it can be restored. Refuses while a
    stage criterion requires it."""
    if defn.archived_at is not None:
        return defn
    if defn.record_type == "deal":
        used = StageCriterion.objects.filter(field_name=defn.criterion_name).select_related("stage")
        stages = sorted({c.stage.name for c in used})
        if stages:
            raise ValidationError(
                f"{', '.join(stages)} require{'s' if len(stages) == 1 else ''} this field to "
                "move deals. Remove those stage criteria first."
            )
    with transaction.atomic():
        defn.archived_at = timezone.now()
        defn.save(update_fields=["archived_at"])
        record_event(
            actor=by, verb="field.removed", target=defn, changes={"removed": [False, True]}
        )
    custom_fields.forget_definitions()
    return defn


def restore_field(defn: FieldDefinition, *, by: User) -> FieldDefinition:
    if defn.archived_at is None:
        return defn
    with transaction.atomic():
        defn.archived_at = None
        defn.save(update_fields=["archived_at"])
        record_event(
            actor=by, verb="field.restored", target=defn, changes={"removed": [True, False]}
        )
    custom_fields.forget_definitions()
    return defn


def move_field(defn: FieldDefinition, *, by: User, up: bool) -> None:
    """Swap the field with its neighbour in the record type's order."""
    siblings = list(
        FieldDefinition.objects.filter(record_type=defn.record_type, archived_at__isnull=True)
    )
    index = next(i for i, d in enumerate(siblings) if d.pk == defn.pk)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(siblings):
        return
    siblings[index], siblings[other] = siblings[other], siblings[index]
    with transaction.atomic():
        for position, sibling in enumerate(siblings, start=1):
            if sibling.position != position:
                old = sibling.position
                sibling.position = position
                sibling.save(update_fields=["position"])
                if sibling.pk == defn.pk:
                    record_event(
                        actor=by,
                        verb="field.updated",
                        target=sibling,
                        changes={"position": [old, position]},
                    )
    custom_fields.forget_definitions()


# The standard choice lists (industry, size, revenue, lead source)


def list_options(list_name: str) -> list[ChoiceOption]:
    """The tenant's options for a list (the defaults, unsaved, until it has its own)."""
    own = list(ChoiceOption.objects.filter(list=list_name).order_by("position", "label"))
    if own:
        return own
    return [
        ChoiceOption(list=list_name, value=value, label=label, position=i)
        for i, (value, label) in enumerate(DEFAULT_CHOICES[list_name])
    ]


def _value_for(label: str, taken: set[str]) -> str:
    base = key_from_label(label)[:36] or "option"
    value, n = base, 2
    while value in taken:
        value, n = f"{base}_{n}", n + 1
    return value


def save_choice_list(*, by: User, list_name: str, labels: list[str]) -> list[ChoiceOption]:
    """Make `labels` (in order) the options offered for `list_name`.

    Options keep their stored value when their label stays (or is renamed in place);
    options left out are retired, not deleted: records keep them, new input no longer
    offers them. Refuses an empty list and duplicates.
    """
    if list_name not in ChoiceList.values:
        raise ValidationError({"list_name": "Choose a list."})
    wanted = [" ".join(label.split()) for label in labels if label.strip()]
    if not wanted:
        raise ValidationError({"labels": "Keep at least one option."})
    lower = [w.casefold() for w in wanted]
    if len(set(lower)) != len(lower):
        raise ValidationError({"labels": "An option is on the list twice."})
    if any(len(w) > 80 for w in wanted):
        raise ValidationError({"labels": "Keep each option under 80 characters."})
    tenant = current_tenant()
    current = list_options(list_name)
    before = [o.label for o in current if o.is_active]
    by_label = {o.label.casefold(): o for o in current}
    taken = {o.value for o in current}
    with transaction.atomic():
        kept = []
        for position, label in enumerate(wanted):
            option = by_label.pop(label.casefold(), None)
            if option is None:
                option = ChoiceOption(tenant=tenant, list=list_name, value=_value_for(label, taken))
                taken.add(option.value)
            option.tenant = tenant
            option.label, option.position, option.is_active = label, position, True
            option.save()
            kept.append(option)
        for option in by_label.values():
            option.tenant, option.is_active = tenant, False
            option.save()
        if before != wanted:
            record_event(
                actor=by,
                verb="choice_list.updated",
                target=tenant,
                changes={str(ChoiceList(list_name).label): [before, wanted]},
            )
    return kept


# Fields the tenant expects filled in (data quality and completeness)

EXPECTABLE: dict[str, dict[str, str]] = {
    "contact": {
        "last_name": "Last name",
        "email": "E-mail",
        "phone": "Phone",
        "job_title": "Job title",
        "organization": "Organization",
        "lead_source": "Lead source",
        "owner": "Owner",
    },
    "organization": {
        "domain": "Domain",
        "website": "Website",
        "phone": "Phone",
        "industry": "Industry",
        "size_band": "Company size",
        "country": "Country",
        "city": "City",
        "owner": "Owner",
    },
    "deal": {
        "amount": "Amount",
        "expected_close": "Expected close date",
        "owner": "Owner",
        "primary_contact": "Primary contact",
        "organization": "Organization",
        "source": "Source",
    },
}
# What a tenant expects until an admin chooses (the reporting app's default, too).
DEFAULT_EXPECTED: dict[str, list[str]] = {
    "contact": ["email", "phone", "job_title", "organization", "owner"],
    "organization": ["domain", "industry", "country", "owner"],
    "deal": ["amount", "expected_close", "owner", "primary_contact"],
}


def expected_fields() -> dict[str, list[str]]:
    settings_row = QualitySettings.objects.first()
    chosen = settings_row.expected_fields if settings_row else {}
    return {
        kind: [f for f in chosen.get(kind, DEFAULT_EXPECTED[kind]) if f in EXPECTABLE[kind]]
        for kind in EXPECTABLE
    }


def save_expected_fields(*, by: User, fields: dict[str, list[str]]) -> QualitySettings:
    """Choose the built-in fields each record type should have filled in."""
    clean = {}
    for kind, names in fields.items():
        if kind not in EXPECTABLE or set(names) - set(EXPECTABLE[kind]):
            raise ValidationError("Choose among the listed fields.")
        clean[kind] = [n for n in EXPECTABLE[kind] if n in names]
    settings_row = QualitySettings.objects.first() or QualitySettings(tenant=current_tenant())
    before = expected_fields()
    after = {kind: clean.get(kind, before[kind]) for kind in EXPECTABLE}
    settings_row.expected_fields, settings_row.updated_by = after, by
    settings_row.updated_at = timezone.now()
    with transaction.atomic():
        settings_row.save()
        changes = diff(before, after)
        if changes:
            record_event(actor=by, verb="quality.updated", target=settings_row, changes=changes)
    return settings_row
