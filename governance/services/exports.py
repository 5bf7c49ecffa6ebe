"""CSV exports of the contact, organization and deal lists, with the list's filters.

The columns are the built-in fields (as an import reads them back) and the tenant's
custom fields; every cell goes through `crm.csvsafe` (formula prefixes neutralised);
every export is recorded (`DataExport` and the audit trail) with its filters and size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

from contacts import selectors as contact_selectors
from contacts.choices import choice_labels
from contacts.filters import ContactFilter, OrganizationFilter
from crm import custom_fields
from crm.audit import record_event
from crm.custom_fields.values import export_value
from crm.models import User
from crm.tenancy import current_tenant
from governance.models import DataExport
from pipeline.filters import DealFilter
from pipeline.selectors import deals as deal_selectors

RECORD_TYPE = {"contacts": "contact", "organizations": "organization", "deals": "deal"}

COLUMNS: dict[str, list[tuple[str, str]]] = {
    "contacts": [
        ("id", "ID"), ("first_name", "First name"), ("last_name", "Last name"),
        ("email", "E-mail"), ("phone", "Phone"), ("job_title", "Job title"),
        ("organization", "Organization"), ("lead_source", "Lead source"),
        ("lifecycle", "Lifecycle stage"), ("preferred_channel", "Preferred channel"),
        ("owner", "Owner"), ("created_at", "Created"), ("updated_at", "Updated"),
    ],
    "organizations": [
        ("id", "ID"), ("name", "Name"), ("domain", "Domain"), ("website", "Website"),
        ("phone", "Phone"), ("industry", "Industry"), ("size_band", "Company size"),
        ("revenue_range", "Annual revenue"), ("lifecycle", "Lifecycle"), ("owner", "Owner"),
        ("street", "Street"), ("postal_code", "Postal code"), ("city", "City"),
        ("region", "State or region"), ("country", "Country"), ("created_at", "Created"),
    ],
    "deals": [
        ("id", "ID"), ("name", "Deal name"), ("organization", "Organization"),
        ("primary_contact", "Primary contact"), ("pipeline", "Pipeline"), ("stage", "Stage"),
        ("status", "Status"), ("owner", "Owner"), ("amount", "Amount"), ("currency", "Currency"),
        ("expected_close", "Expected close date"), ("source", "Source"), ("budget", "Budget"),
        ("authority", "Decision maker"), ("need", "Need"), ("timeline", "Buying timeline"),
        ("contract_start", "Contract start"), ("contract_end", "Contract end"),
        ("created_at", "Created"), ("closed_at", "Closed"),
    ],
}  # fmt: skip
CHOICE_LISTS = {
    "lead_source": "lead_source",
    "industry": "industry",
    "size_band": "size_band",
    "revenue_range": "revenue_range",
    "source": "lead_source",
}


def filtered_rows(kind: str, params: QueryDict, request: HttpRequest) -> QuerySet:
    """The list's rows with the list's own filter and sort (what the page shows)."""
    if kind == "contacts":
        return ContactFilter(
            params, queryset=contact_selectors.contact_list(), request=request
        ).qs.select_related("owner")
    if kind == "organizations":
        return OrganizationFilter(
            params, queryset=contact_selectors.organization_list(), request=request
        ).qs.select_related("owner")
    params = params.copy()
    params.setdefault("status", "open")
    return DealFilter(
        params, queryset=deal_selectors.deal_list(), request=request
    ).qs.select_related("organization", "primary_contact", "pipeline", "stage", "owner")


def _cell(record: Any, name: str, labels: dict[str, dict[str, str]], tz) -> Any:
    value = getattr(record, name)
    if name in ("owner",):
        return value.email if value else ""
    if name == "primary_contact":
        return value.email or str(value) if value else ""
    if name in ("organization", "pipeline", "stage"):
        return str(value) if value else ""
    if name in CHOICE_LISTS:
        return labels[CHOICE_LISTS[name]].get(value, value)
    if name in ("lifecycle", "preferred_channel", "status"):
        return getattr(record, f"get_{name}_display")()
    if hasattr(value, "astimezone"):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def table(kind: str, rows: QuerySet) -> tuple[list[str], Iterator[list[Any]]]:
    definitions = custom_fields.definitions(RECORD_TYPE[kind])
    header = [label for _, label in COLUMNS[kind]] + [d.label for d in definitions]
    labels = choice_labels()
    tz = current_tenant().tz
    names = [name for name, _ in COLUMNS[kind]]

    def generate() -> Iterator[list[Any]]:
        for record in rows.iterator(chunk_size=2000):
            values = record.custom_fields or {}
            yield [_cell(record, n, labels, tz) for n in names] + [
                export_value(d, values.get(d.key)) for d in definitions
            ]

    return header, generate()


def record_export(*, by: User, kind: str, query: str, row_count: int) -> DataExport:
    with transaction.atomic():
        export = DataExport.objects.create(
            tenant=current_tenant(),
            kind=kind,
            query=query[:2000],
            row_count=row_count,
            created_by=by,
        )
        record_event(
            actor=by,
            verb="export.created",
            target=export,
            changes={"list": [None, kind], "filters": [None, query], "rows": [None, row_count]},
        )
    return export
