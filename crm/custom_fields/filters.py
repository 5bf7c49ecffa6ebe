"""Custom-field filters in a list's filter bar: one django-filter filter per active field."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import CharField, FloatField, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from crm.custom_fields.forms import DateInput
from crm.custom_fields.schema import Type, definitions

FILTER_PREFIX = "cf_"


def add_filters(filterset: Any, record_type: str) -> None:
    """Add one filter per active field to a django-filter FilterSet, before its form is built:
    choices and yes/no as selects, text as "contains", numbers and money as "at least",
    dates as "on or after". Parameters are named cf_<key>."""
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
