"""The tenant's custom-field definitions, and the constants every part of the package
shares (see the package's docstring)."""

from __future__ import annotations

import re
from typing import Any

from crm.models import FieldDefinition
from crm.tenancy import current_tenant

Type = FieldDefinition.Type
RECORD_TYPES = FieldDefinition.RecordType.values
PREFIX = "custom__"  # form field names: custom__<key>
CRITERION_PREFIX = "custom:"
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
TEXT_MAX = 255
LONG_TEXT_MAX = 5000
_CACHE_ATTR = "_keel_field_definitions"


# Definitions


def definitions(record_type: str, *, include_archived: bool = False) -> list[FieldDefinition]:
    """The current tenant's fields for `record_type`, in order (one query per request)."""
    tenant = current_tenant()
    cache = tenant.__dict__.get(_CACHE_ATTR)
    if cache is None:
        cache = list(FieldDefinition.objects.order_by("record_type", "position", "id"))
        tenant.__dict__[_CACHE_ATTR] = cache
    return [
        d
        for d in cache
        if d.record_type == record_type and (include_archived or d.archived_at is None)
    ]


def forget_definitions() -> None:
    """Drop the memo on the current tenant (the services call it after every change)."""
    current_tenant().__dict__.pop(_CACHE_ATTR, None)


def definition(record_type: str, key: str, *, include_archived: bool = False):
    for d in definitions(record_type, include_archived=include_archived):
        if d.key == key:
            return d
    return None


def required_keys(record_type: str) -> list[str]:
    return [d.key for d in definitions(record_type) if d.is_required]


def label(record_type: str, key: str) -> str:
    """The field's label; a key without a definition reads as words ("po_number" -> "Po number")."""
    found = definition(record_type, key, include_archived=True)
    return found.label if found else key.replace("_", " ").capitalize()


def criterion_choices() -> list[tuple[str, str]]:
    """Deal fields a stage criterion may name, as ("custom:<key>", label)."""
    return [(CRITERION_PREFIX + d.key, d.label) for d in definitions("deal")]


def is_blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or value == [] or value == {}
