"""Custom fields: the tenant's definitions, and the one place their values are typed.

Admins define fields per record type (`FieldDefinition`, screens in governance); records
keep the values in their `custom_fields` JSON under the field's key. Everything that
shows or takes a value asks this module, so a new field appears everywhere at once:

- forms: `add_form_fields(form, "contact", record.custom_fields)` adds one input per
  field (`custom__<key>`), and `form_values(form, current)` returns the merged JSON;
- services: `validate_values("contact", values, before=...)` types and checks the values
  of defined fields (keys without a definition pass untouched: the API may store them,
  and a removed field keeps its values);
- imports: `parse_text(definition, "1.234,50")` reads spreadsheet text;
- pages, filters, exports: `display`, `add_filters`, `export_value`;
- stage criteria: `criterion_choices()` (`custom:<key>`) and `label("deal", key)`.

Stored JSON per type: text, long text, single choice, URL and e-mail as strings; number
as a JSON number; money as a decimal string with two places ("1250.00"); date as
"YYYY-MM-DD"; yes/no as true/false; multiple choice as a list of option strings. A blank
value is not stored at all.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db.models import CharField, FloatField, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from crm.models import FieldDefinition
from crm.tenancy import current_tenant

Type = FieldDefinition.Type
RECORD_TYPES = FieldDefinition.RecordType.values
PREFIX = "custom__"  # form field names: custom__<key>
CRITERION_PREFIX = "custom:"
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
TEXT_MAX = 255
LONG_TEXT_MAX = 5000
NUMBER_LIMIT = Decimal("1e15")
_CACHE_ATTR = "_keel_field_definitions"
YES = {"yes", "y", "true", "1", "x", "ja", "oui", "si", "sí"}
NO = {"no", "n", "false", "0", "nein", "non"}


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


# Values: checking and converting


def _error(defn: FieldDefinition, message: str) -> ValidationError:
    return ValidationError({PREFIX + defn.key: f"{defn.label}: {message}"})


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise InvalidOperation
    if isinstance(value, float):
        value = repr(value)
    number = Decimal(str(value).strip())
    if not number.is_finite() or abs(number) >= NUMBER_LIMIT:
        raise InvalidOperation
    return number


def clean_value(defn: FieldDefinition, value: Any, *, previous: Any = None) -> Any:
    """`value` (as forms, services and the API give it) typed for storage; None when blank.

    Raises ValidationError keyed `custom__<key>` with a message that names the field.
    A choice that was retired stays acceptable on a record that already has it.
    """
    if is_blank(value):
        return None
    kind = defn.field_type
    if kind in (Type.TEXT, Type.LONG_TEXT):
        if not isinstance(value, str):
            raise _error(defn, "enter text.")
        value = value.strip() if kind == Type.TEXT else value.strip("\n ")
        limit = TEXT_MAX if kind == Type.TEXT else LONG_TEXT_MAX
        if len(value) > limit:
            raise _error(defn, f"use at most {limit} characters.")
        return value
    if kind == Type.NUMBER:
        try:
            number = _to_decimal(value)
        except (InvalidOperation, ValueError, TypeError):
            raise _error(defn, "enter a number.") from None
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == Type.MONEY:
        try:
            amount = _to_decimal(value)
        except (InvalidOperation, ValueError, TypeError):
            raise _error(defn, "enter an amount such as 1250.00.") from None
        return str(amount.quantize(Decimal("0.01")))
    if kind == Type.DATE:
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            return value.isoformat()
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise _error(defn, "enter a date as YYYY-MM-DD.") from None
    if kind == Type.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in YES:
            return True
        if text in NO:
            return False
        raise _error(defn, "answer yes or no.")
    if kind == Type.CHOICE:
        if not isinstance(value, str) or (value not in defn.choices and value != previous):
            raise _error(defn, f"“{value}” is not one of the choices.")
        return value
    if kind == Type.MULTI_CHOICE:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise _error(defn, "choose from the list.")
        allowed = set(defn.choices) | set(previous or [])
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise _error(defn, f"“{unknown[0]}” is not one of the choices.")
        ordered: list[str] = []
        for option in [*defn.choices, *(previous or [])]:
            if option in value and option not in ordered:
                ordered.append(option)
        return ordered
    if kind == Type.URL:
        text = str(value).strip()
        if "://" not in text:
            text = "https://" + text
        try:
            URLValidator(schemes=["http", "https"])(text)
        except ValidationError:
            raise _error(defn, "enter a web address such as https://example.com.") from None
        return text[:500]
    if kind == Type.EMAIL:
        text = str(value).strip().lower()
        try:
            EmailValidator()(text)
        except ValidationError:
            raise _error(defn, "enter an e-mail address.") from None
        return text
    raise _error(defn, "this field has an unknown type.")


def validate_values(
    record_type: str, values: dict[str, Any], *, before: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON to store: values of active defined fields typed and checked, blanks dropped.

    Values of keys without an active definition are kept as they are (a removed field
    keeps its history; the API may carry keys of its own). Only changed values are
    checked, so a record whose old value predates a stricter field can still be saved.
    Raises one ValidationError with every problem, keyed `custom__<key>`.
    """
    if not isinstance(values, dict):
        raise ValidationError({"custom_fields": "Custom field values must be a mapping."})
    before = before or {}
    defined = {d.key: d for d in definitions(record_type)}
    out: dict[str, Any] = {}
    errors: dict[str, list] = {}
    for key, value in values.items():
        defn = defined.get(key)
        if defn is None or value == before.get(key):
            if not is_blank(value):
                out[key] = value
            continue
        try:
            cleaned = clean_value(defn, value, previous=before.get(key))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
            continue
        if cleaned is not None:
            out[key] = cleaned
    if errors:
        raise ValidationError(errors)
    return out


def missing_required(record_type: str, values: dict[str, Any]) -> list[FieldDefinition]:
    """The always-required fields that `values` leaves blank."""
    return [d for d in definitions(record_type) if d.is_required and is_blank(values.get(d.key))]


_NUMBER_CHARS = re.compile(r"[^\d,.\-+]")


def parse_text(defn: FieldDefinition, text: str) -> Any:
    """A spreadsheet cell read for the field ("1.234,50 €", "31.03.2026", "Ja", "a; b")."""
    text = (text or "").strip()
    if not text:
        return None
    kind = defn.field_type
    if kind in (Type.NUMBER, Type.MONEY):
        raw = _NUMBER_CHARS.sub("", text)
        if "," in raw and "." in raw:
            # the separator used last is the decimal one: 1.234,50 or 1,234.50
            thousands = "." if raw.rfind(",") > raw.rfind(".") else ","
            raw = raw.replace(thousands, "").replace(",", ".")
        elif raw.count(",") == 1 and len(raw.split(",")[1]) != 3:
            raw = raw.replace(",", ".")
        else:
            raw = raw.replace(",", "")
        return clean_value(defn, raw or text)
    if kind == Type.DATE:
        return clean_value(defn, parse_date(text) or text)
    if kind == Type.MULTI_CHOICE:
        for separator in ("|", ";", ","):
            if separator in text:
                parts = [p.strip() for p in text.split(separator) if p.strip()]
                return clean_value(defn, _match_choices(defn, parts))
        return clean_value(defn, _match_choices(defn, [text]))
    if kind == Type.CHOICE:
        return clean_value(defn, (_match_choices(defn, [text]) or [text])[0])
    return clean_value(defn, text)


def _match_choices(defn: FieldDefinition, parts: list[str]) -> list[str]:
    by_lower = {c.casefold(): c for c in defn.choices}
    return [by_lower.get(p.casefold(), p) for p in parts]


_DMY = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")


def parse_date(text: str) -> str | None:
    """ISO dates, and day-first dates (31.03.2026, 31/03/2026) when they cannot be misread."""
    match = _DMY.match(text)
    if not match:
        return None
    first, second, year = (int(g) for g in match.groups())
    if "." in text or first > 12:
        day, month = first, second
    elif second > 12:
        day, month = second, first
    else:
        return None  # 03/04/2026: March or April? Ask for ISO.
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


# Showing values


def format_value(defn: FieldDefinition | None, value: Any) -> str:
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if defn is not None and defn.field_type == Type.DATE:
        try:
            return date.fromisoformat(str(value)).strftime("%-d %b %Y")
        except ValueError:
            return str(value)
    return str(value)


def display(record_type: str, values: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Rows for a record page: every active field (blank ones too), then values of
    removed or undefined fields the record still holds, marked as such."""
    values = values or {}
    rows = [
        {
            "key": d.key,
            "label": d.label,
            "text": format_value(d, values.get(d.key)),
            "type": d.field_type,
            "value": values.get(d.key),
            "required": d.is_required,
            "archived": False,
        }
        for d in definitions(record_type)
    ]
    shown = {r["key"] for r in rows}
    archived = {d.key: d for d in definitions(record_type, include_archived=True)}
    for key, value in values.items():
        if key in shown or is_blank(value):
            continue
        defn = archived.get(key)
        rows.append(
            {
                "key": key,
                "label": defn.label if defn else label(record_type, key),
                "text": format_value(defn, value),
                "type": defn.field_type if defn else "",
                "value": value,
                "required": False,
                "archived": True,
            }
        )
    return rows


def export_value(defn: FieldDefinition, value: Any) -> Any:
    """A value as a CSV cell that an import reads back to the same value."""
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    return value


# Forms


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


# List filters (django-filter)

FILTER_PREFIX = "cf_"


def add_filters(filterset: Any, record_type: str) -> None:
    """Add one filter per active field to a django-filter FilterSet, before its form is built:
    choices and yes/no as selects, text as "contains", numbers and money as "at least",
    dates as "on or after". Parameters are named cf_<key>."""
    import django_filters

    for defn in definitions(record_type):
        name = FILTER_PREFIX + defn.key
        path = f"custom_fields__{defn.key}"
        kind = defn.field_type
        if kind == Type.CHOICE:
            flt = django_filters.ChoiceFilter(
                choices=[(c, c) for c in defn.choices],
                empty_label=f"Any {defn.label.lower()}",
                method=_exact(path),
                label=defn.label,
            )
        elif kind == Type.MULTI_CHOICE:
            flt = django_filters.ChoiceFilter(
                choices=[(c, c) for c in defn.choices],
                empty_label=f"Any {defn.label.lower()}",
                method=_has_option(path),
                label=defn.label,
            )
        elif kind == Type.BOOLEAN:
            flt = django_filters.ChoiceFilter(
                choices=[("yes", f"{defn.label}: yes"), ("no", f"{defn.label}: no"), ("blank", f"{defn.label}: not set")],
                empty_label=f"{defn.label}: any",
                method=_yes_no(path),
                label=defn.label,
            )  # fmt: skip
        elif kind in (Type.NUMBER, Type.MONEY):
            flt = django_filters.NumberFilter(
                method=_at_least(path),
                label=f"{defn.label} at least",
                widget=forms.NumberInput(attrs={"placeholder": f"{defn.label} ≥"}),
            )
        elif kind == Type.DATE:
            flt = django_filters.DateFilter(
                method=_on_or_after(path),
                label=f"{defn.label} on or after",
                widget=DateInput(attrs={"title": f"{defn.label} on or after"}),
            )
        else:
            flt = django_filters.CharFilter(
                method=_contains(path),
                label=defn.label,
                widget=forms.TextInput(attrs={"placeholder": defn.label}),
            )
        filterset.filters[name] = flt
        flt.model = filterset._meta.model
        flt.parent = filterset


def _exact(path: str):
    def method(queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(**{path: value}) if value else queryset

    return method


def _has_option(path: str):
    # JSON containment is not available on SQLite; the list's JSON text holds "<option>".
    def method(queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        import json

        alias = f"_cf_{abs(hash(path))}"
        # The stored JSON may escape non-ASCII characters (SQLite) or not (PostgreSQL).
        either = Q(**{f"{alias}__contains": json.dumps(value)}) | Q(
            **{f"{alias}__contains": json.dumps(value, ensure_ascii=False)}
        )
        return queryset.alias(**{alias: KT(path)}).filter(either)

    return method


def _yes_no(path: str):
    def method(queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "yes":
            return queryset.filter(**{path: True})
        if value == "no":
            return queryset.filter(**{path: False})
        if value == "blank":
            return queryset.filter(Q(**{f"{path}__isnull": True}))
        return queryset

    return method


def _at_least(path: str):
    def method(queryset: QuerySet, name: str, value: Decimal) -> QuerySet:
        if value is None:
            return queryset
        alias = f"_cf_{abs(hash(path))}"
        return queryset.alias(**{alias: Cast(KT(path), FloatField())}).filter(
            **{f"{alias}__gte": float(value)}
        )

    return method


def _on_or_after(path: str):
    def method(queryset: QuerySet, name: str, value: date) -> QuerySet:
        if value is None:
            return queryset
        alias = f"_cf_{abs(hash(path))}"
        text = Cast(KT(path), CharField())  # compared as text: ISO dates sort as dates
        return queryset.alias(**{alias: text}).filter(**{f"{alias}__gte": value.isoformat()})

    return method


def _contains(path: str):
    def method(queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        alias = f"_cf_{abs(hash(path))}"
        return queryset.alias(**{alias: KT(path)}).filter(**{f"{alias}__icontains": value})

    return method
