"""Data-quality rules, checked in SQL: which records break one, worst first.

Rules per record (each broken rule counts one; each missing expected or required field
counts one): a field the tenant expects or a custom field marked "always required" is
empty; an e-mail address that is not one; a phone number not in international (E.164)
form; a website that is not a web address; a likely duplicate by the contacts app's keys
(the same name for contacts, the same normalized name or domain for organizations); for
open deals, an expected close date in the past.

`required_fields(tenant)` is the `KEEL_REQUIRED_FIELDS` hook reporting's data
completeness uses: the same expected and required fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from contacts.models import Contact, Organization
from crm import custom_fields
from crm.tenancy import current_tenant_or_none, tenant_context
from governance.services.fields import EXPECTABLE, expected_fields
from pipeline.models import Deal

EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
E164_RE = r"^\+[1-9][0-9]{6,14}( ext\. [0-9]{1,6})?$"
URL_RE = r"^https?://[^\s/$.?#][^\s]*$"
MODELS = {"contact": Contact, "organization": Organization, "deal": Deal}
KINDS = {"contacts": "contact", "organizations": "organization", "deals": "deal"}


def required_fields(tenant) -> dict[str, list[str]]:
    """{record type: fields} the tenant expects filled in, custom ones as custom:<key>."""

    def build() -> dict[str, list[str]]:
        expected = expected_fields()
        return {
            kind: [
                *expected[kind],
                *(f"custom:{key}" for key in custom_fields.required_keys(kind)),
            ]
            for kind in EXPECTABLE
        }

    active = current_tenant_or_none()
    if active is not None and active.pk == tenant.pk:
        return build()
    with tenant_context(tenant):
        return build()


@dataclass(frozen=True)
class Rule:
    code: str
    label: str
    condition: Q


def _blank(model: type[models.Model], name: str) -> Q:
    if name.startswith("custom:"):
        key = name.split(":", 1)[1]
        return Q(**{f"custom_fields__{key}__isnull": True}) | Q(**{f"custom_fields__{key}": ""})
    field = model._meta.get_field(name)
    if isinstance(field, models.CharField | models.TextField):
        return Q(**{f"_trim_{name}": ""})
    return Q(**{f"{field.attname}__isnull": True})


def rules(kind: str) -> list[Rule]:
    """The rules of a record type, as conditions that hold for a record breaking them."""
    model = MODELS[kind]
    found: list[Rule] = []
    labels = EXPECTABLE[kind]
    for name in expected_fields()[kind]:
        found.append(Rule(f"missing:{name}", f"{labels[name]} missing", _blank(model, name)))
    for defn in custom_fields.definitions(kind):
        if defn.is_required:
            found.append(
                Rule(
                    f"missing:custom:{defn.key}",
                    f"{defn.label} missing (required)",
                    _blank(model, f"custom:{defn.key}"),
                )
            )
    if kind == "contact":
        found += [
            Rule("email", "E-mail is not valid", ~Q(email="") & ~Q(email__regex=EMAIL_RE)),
            Rule("phone", "Phone not in international form", ~Q(phone="") & ~Q(phone__regex=E164_RE)),
            Rule("duplicate", "Same name as another contact", Q(_same_name=True)),
        ]  # fmt: skip
    elif kind == "organization":
        found += [
            Rule("website", "Website is not a web address", ~Q(website="") & ~Q(website__regex=URL_RE)),
            Rule("phone", "Phone not in international form", ~Q(phone="") & ~Q(phone__regex=E164_RE)),
            Rule("duplicate", "Same name or domain as another organization", Q(_same_key=True) | Q(_same_domain=True)),
        ]  # fmt: skip
    else:
        found.append(
            Rule(
                "overdue_close",
                "Expected close date has passed",
                Q(expected_close__lt=timezone.localdate()),
            )
        )
    return found


def _base(kind: str) -> models.QuerySet:
    """The records of `kind` with what the duplicate rules need, each lookup answered by
    an index that leads with the tenant (an OR or iexact would compare every pair)."""
    if kind == "contact":
        twin = (
            Contact.objects.live()
            .alias(_twin_last=Lower("last_name"), _twin_first=Lower("first_name"))
            .filter(_twin_last=OuterRef("_last"), _twin_first=OuterRef("_first"))
            .exclude(pk=OuterRef("pk"))
        )
        return (
            Contact.objects.live()
            .select_related("organization", "owner")
            .alias(_last=Lower("last_name"), _first=Lower("first_name"))
            .annotate(_same_name=Exists(twin))
        )
    if kind == "organization":
        others = Organization.objects.live().exclude(pk=OuterRef("pk"))
        return (
            Organization.objects.live()
            .select_related("owner")
            .annotate(
                _same_key=Exists(others.filter(name_key=OuterRef("name_key"))),
                _same_domain=Exists(others.exclude(domain="").filter(domain=OuterRef("domain"))),
            )
        )
    return Deal.objects.open().select_related("organization", "owner", "stage")


def problems(kind: str) -> tuple[models.QuerySet, list[Rule]]:
    """Records of `kind` breaking at least one rule, annotated with `dq_score` and a flag
    `dq_<n>` per rule, worst first."""
    model = MODELS[kind]
    found = rules(kind)
    queryset = _base(kind)
    trims = {
        f"_trim_{f.name}": Trim(f.name)
        for f in model._meta.get_fields()
        if isinstance(f, models.CharField | models.TextField)
        and any(r.code == f"missing:{f.name}" for r in found)
    }
    if trims:
        queryset = queryset.annotate(**trims)
    flags = {
        f"dq_{i}": Case(
            When(rule.condition, then=Value(1)), default=Value(0), output_field=IntegerField()
        )
        for i, rule in enumerate(found)
    }
    if not flags:
        return queryset.none(), found
    queryset = queryset.annotate(**flags)
    score = sum((F(name) for name in flags), Value(0))
    queryset = queryset.annotate(dq_score=score).filter(dq_score__gt=0)
    return queryset.order_by("-dq_score", "-updated_at", "-pk"), found  # fmt: skip


def describe(record: Any, found: list[Rule]) -> list[str]:
    return [rule.label for i, rule in enumerate(found) if getattr(record, f"dq_{i}", 0)]


def summary() -> dict[str, int]:
    """How many records of each type break a rule (three counting queries)."""
    return {kind: problems(record_type)[0].count() for kind, record_type in KINDS.items()}
