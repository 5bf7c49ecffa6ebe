"""Custom-field inputs on a record's form: one Django form field per active definition."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms

from crm.custom_fields.schema import LONG_TEXT_MAX, PREFIX, TEXT_MAX, Type, definitions, is_blank
from crm.models import FieldDefinition


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def form_field(defn: FieldDefinition, *, current: Any = None, required: bool | None = None):
    """The Django form field for one definition (required: the definition's, unless given)."""
    required = defn.is_required if required is None else required
    common = {"label": defn.label, "required": required, "help_text": defn.help_text}
    kind = defn.field_type
    if kind == Type.TEXT:
        return forms.CharField(max_length=TEXT_MAX, **common)
    if kind == Type.LONG_TEXT:
        return forms.CharField(
            max_length=LONG_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3}), **common
        )
    if kind == Type.NUMBER:
        return forms.DecimalField(max_digits=24, decimal_places=6, **common)
    if kind == Type.MONEY:
        return forms.DecimalField(
            max_digits=17,
            decimal_places=2,
            widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
            **common,
        )
    if kind == Type.DATE:
        return forms.DateField(widget=DateInput(), **common)
    if kind == Type.BOOLEAN:
        return forms.TypedChoiceField(
            choices=[("", "—"), ("yes", "Yes"), ("no", "No")],
            coerce=lambda v: v == "yes",
            empty_value=None,
            **common,
        )
    if kind == Type.CHOICE:
        options = list(defn.choices)
        if isinstance(current, str) and current and current not in options:
            options.append(current)  # a retired option stays selectable on its record
        return forms.ChoiceField(choices=[("", "—"), *((o, o) for o in options)], **common)
    if kind == Type.MULTI_CHOICE:
        options = list(defn.choices)
        options += [c for c in (current or []) if c not in options]
        return forms.MultipleChoiceField(
            choices=[(o, o) for o in options],
            widget=forms.SelectMultiple(attrs={"size": min(6, max(2, len(options)))}),
            **common,
        )
    if kind == Type.URL:
        return forms.URLField(max_length=500, assume_scheme="https", **common)
    if kind == Type.EMAIL:
        return forms.EmailField(**common)
    raise ValueError(f"Unknown field type {kind!r}")


def _initial(defn: FieldDefinition, value: Any) -> Any:
    if value is None:
        return None
    if defn.field_type == Type.BOOLEAN:
        return "yes" if value else "no"
    return value


def add_form_fields(form: forms.BaseForm, record_type: str, values: dict[str, Any] | None) -> None:
    """Add an input for every active field of `record_type` to `form`, filled from `values`.

    The names are kept in `form.custom_field_names`; templates render them with
    `{% include "partials/custom_fields.html" %}`.
    """
    values = values or {}
    form.custom_record_type = record_type
    form.custom_field_names = []
    for defn in definitions(record_type):
        name = PREFIX + defn.key
        form.fields[name] = form_field(defn, current=values.get(defn.key))
        form.initial.setdefault(name, _initial(defn, values.get(defn.key)))
        form.custom_field_names.append(name)
    form.custom_bound_fields = [form[name] for name in form.custom_field_names]


def form_values(form: forms.BaseForm, current: dict[str, Any] | None) -> dict[str, Any]:
    """The record's new custom_fields: `current`, with the form's inputs applied."""
    merged = dict(current or {})
    for name in getattr(form, "custom_field_names", []):
        key = name[len(PREFIX) :]
        value = form.cleaned_data.get(name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, date):
            value = value.isoformat()
        if is_blank(value):
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def bound_fields(form: forms.BaseForm) -> list:
    return [form[name] for name in getattr(form, "custom_field_names", [])]
