"""Which fields a record must have filled in (for `data_completeness`), and SQL to check them.

The always-required fields of each record type come from the hook named by the setting
`KEEL_REQUIRED_FIELDS` (`fn(tenant) -> {"contact": [...], "organization": [...],
"deal": [...]}`, for governance's field settings) or, without one, from
`DEFAULT_REQUIRED`. A deal also needs the fields that the entry criteria of its stage
name (`pipeline.StageCriterion`, kind "field"), custom ones as `custom:<key>`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Case, IntegerField, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Trim
from django.db.models.lookups import Exact
from django.utils.module_loading import import_string

from contacts.models import Contact, Organization
from pipeline.criterion_text import CUSTOM_PREFIX, field_label, is_custom_field
from pipeline.models import Deal

RECORD_MODELS = {"contact": Contact, "organization": Organization, "deal": Deal}
RECORD_LABELS = {"contact": "Contacts", "organization": "Organizations", "deal": "Open deals"}

DEFAULT_REQUIRED: dict[str, list[str]] = {
    "contact": ["email", "phone", "job_title", "organization", "owner"],
    "organization": ["domain", "industry", "country", "owner"],
    "deal": ["amount", "expected_close", "owner", "primary_contact"],
}


def required_fields(tenant) -> dict[str, list[str]]:
    hook = getattr(settings, "KEEL_REQUIRED_FIELDS", "")
    configured = import_string(hook)(tenant) if hook else DEFAULT_REQUIRED
    return {kind: list(configured.get(kind, [])) for kind in RECORD_MODELS}


def label(kind: str, name: str) -> str:
    if kind == "deal" and (name in Deal.CRITERION_FIELDS or is_custom_field(name)):
        return field_label(name)
    if is_custom_field(name):
        return name[len(CUSTOM_PREFIX) :].replace("_", " ").capitalize()
    return str(RECORD_MODELS[kind]._meta.get_field(name).verbose_name).capitalize()


def filled(model: type[models.Model], name: str) -> Case:
    """1 when the record's `name` is filled in (as `pipeline.criteria.is_blank` judges), else 0.

    Text is filled when `TRIM(value) <> ''` (NULL is not): the same test as
    `LENGTH(TRIM(value)) > 0`, without counting the characters of every value, which
    took a fifth of the pass over 300,000 contacts (bench/NOTES.md item 7)."""
    if is_custom_field(name):
        value = KT(f"custom_fields__{name[len(CUSTOM_PREFIX) :]}")
        condition = ~models.Q(Exact(Trim(value), Value("")))
    else:
        field = model._meta.get_field(name)
        if isinstance(field, models.CharField | models.TextField):
            condition = ~models.Q(Exact(Trim(name), Value("")))
        else:
            condition = models.Q(**{f"{field.attname}__isnull": False})
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def blank_q(model: type[models.Model], name: str):
    """The records whose `name` is blank (for the drill-down list)."""
    if is_custom_field(name):
        key = name[len(CUSTOM_PREFIX) :]
        return models.Q(**{f"custom_fields__{key}__isnull": True}) | models.Q(
            **{f"custom_fields__{key}": ""}
        )
    field = model._meta.get_field(name)
    if isinstance(field, models.CharField | models.TextField):
        return models.Q(**{f"{name}__isnull": True}) | models.Q(**{f"{name}__regex": r"^\s*$"})
    return models.Q(**{f"{field.attname}__isnull": True})
