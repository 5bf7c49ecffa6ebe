"""How stage criteria and the deal fields they name read ("Budget filled in", "A meeting
logged while in Discovery").

The models use this for `StageCriterion.describe()` and `Deal.CRITERION_FIELDS`, and
`pipeline.criteria` (which evaluates criteria against the models) for its messages, so
it imports no model: the models import it.
"""

from __future__ import annotations

from typing import Any

from crm import custom_fields
from crm.custom_fields.schema import KEY_RE

CUSTOM_PREFIX = "custom:"
# Built-in deal fields a stage criterion may require: {field name: label}.
CRITERION_FIELDS = {
    "amount": "Amount",
    "expected_close": "Expected close date",
    "primary_contact": "Primary contact",
    "organization": "Organization",
    "budget": "Budget",
    "authority": "Decision maker",
    "need": "Need",
    "timeline": "Buying timeline",
    "source": "Source",
    "contract_start": "Contract start",
    "contract_end": "Contract end",
}
ACTIVITY_NOUNS = {
    "call": ("call", "calls"),
    "email": ("e-mail", "e-mails"),
    "meeting": ("meeting", "meetings"),
    "note": ("note", "notes"),
    "any": ("activity", "activities"),
}


def is_custom_field(name: str) -> bool:
    return name.startswith(CUSTOM_PREFIX) and bool(KEY_RE.match(name[len(CUSTOM_PREFIX) :]))


def field_label(name: str) -> str:
    """The field's name, as criteria and reports describe it ("Budget filled in")."""
    if name in CRITERION_FIELDS:
        return CRITERION_FIELDS[name]
    if is_custom_field(name):
        return custom_fields.label("deal", name[len(CUSTOM_PREFIX) :])
    return name


def _activity_phrase(kind: str, count: int) -> str:
    one, many = ACTIVITY_NOUNS.get(kind, (kind, kind + "s"))
    if count <= 1:
        article = "An" if one[0] in "aeiou" else "A"
        return f"{article} {one}"
    return f"At least {count} {many}"


def describe_criterion(criterion: Any, *, stage_name: str | None = None) -> str:
    """The criterion (a `StageCriterion`) as a sentence, e.g. "A meeting logged while in
    Discovery"."""
    if criterion.kind == "field":
        return f"{field_label(criterion.field_name)} filled in"
    phrase = _activity_phrase(criterion.activity_kind, criterion.min_count)
    if criterion.activity_scope == "ever":
        return f"{phrase} logged on the deal"
    if criterion.when == "exit":
        name = stage_name or criterion.stage.name
        return f"{phrase} logged while in {name}"
    return f"{phrase} logged in the stage before"
