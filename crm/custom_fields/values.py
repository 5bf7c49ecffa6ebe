"""Custom-field values: checking and converting what forms, services, the API and imports
give, and showing what records store (see the package's docstring for the stored JSON)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from crm.custom_fields.schema import (
    LONG_TEXT_MAX,
    PREFIX,
    TEXT_MAX,
    Type,
    definitions,
    is_blank,
    label,
)
from crm.models import FieldDefinition

NUMBER_LIMIT = Decimal("1e15")
YES = {"yes", "y", "true", "1", "x", "ja", "oui", "si", "sí"}
NO = {"no", "n", "false", "0", "nein", "non"}


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
