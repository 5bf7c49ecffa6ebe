"""Merging two contacts or two organizations: pick the other record, compare, confirm."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from contacts import duplicates, selectors
from contacts.choices import choice_labels
from contacts.forms import MergeForm
from contacts.models import Contact, Organization
from contacts.views.common import done, render_page, rep_view
from contacts.views.records import CONTACTS, ORGANIZATIONS, RecordKind, _get
from crm.forms_util import add_service_errors
from crm.permissions import require_edit

LIST_FIELDS = {"industry", "size_band", "revenue_range", "lead_source"}


@rep_view
def contact_merge(request: HttpRequest, pk: int) -> HttpResponse:
    return _merge(request, CONTACTS, pk)


@rep_view
def organization_merge(request: HttpRequest, pk: int) -> HttpResponse:
    return _merge(request, ORGANIZATIONS, pk)


def _merge(request: HttpRequest, kind: RecordKind, pk: int) -> HttpResponse:
    record = _get(kind, pk)
    require_edit(request, record)
    data = request.POST if request.method == "POST" else None
    form = MergeForm(
        data, record=record, initial={"other": request.GET.get("other"), "keep": "this"}
    )
    other = None
    if request.method == "POST":
        if form.is_valid():
            other = form.cleaned_data["other"]
            require_edit(request, other)
            keep_this = form.cleaned_data["keep"] == "this"
            survivor, duplicate = (record, other) if keep_this else (other, record)
            try:
                kind.merge(survivor, duplicate=duplicate, by=request.user)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                url = kind.url("detail", survivor.pk)
                return done(request, url, f"{duplicate} merged into {survivor}.")
    elif request.GET.get("other", "").isdigit():
        other = (
            kind.model.objects.live().exclude(pk=record.pk).filter(pk=request.GET["other"]).first()
        )
    query = request.GET.get("q", "").strip()
    context = {
        "kind": kind,
        "record": record,
        "other": other,
        "form": form,
        "query": query,
        "candidates": _candidates(record, query) if other is None else [],
        "rows": _comparison(record, other) if other is not None else [],
    }
    status = 422 if form.is_bound else 200
    return render_page(request, "contacts/merge.html", context, status=status)


def _candidates(record: Contact | Organization, query: str) -> list[tuple[Any, str]]:
    """Likely duplicates first, then what the search finds."""
    if isinstance(record, Contact):
        found = duplicates.contact_duplicates(
            email=record.email,
            first_name=record.first_name,
            last_name=record.last_name,
            exclude_pk=record.pk,
        )
    else:
        found = duplicates.organization_duplicates(
            name=record.name, domain=record.domain, exclude_pk=record.pk
        )
    candidates = [(m.record, m.reason) for m in found]
    if query:
        results = selectors.search(query, limit=10)
        hits = results.contacts if isinstance(record, Contact) else results.organizations
        seen = {r.pk for r, _ in candidates} | {record.pk}
        candidates += [(hit, "search result") for hit in hits if hit.pk not in seen]
    return candidates


def _comparison(record: Contact | Organization, other: Contact | Organization) -> list[dict]:
    """One row per field: both values, and whether the survivor would take the other's."""
    labels = choice_labels()
    rows = []
    for name in CONTACTS.fields if isinstance(record, Contact) else ORGANIZATIONS.fields:
        if name == "custom_fields":
            continue
        field = record._meta.get_field(name)
        mine, theirs = _display(record, name, labels), _display(other, name, labels)
        rows.append(
            {
                "label": field.verbose_name.capitalize(),
                "this": mine,
                "other": theirs,
                "differs": mine != theirs,
            }
        )
    return rows


def _display(record: Contact | Organization, name: str, labels: dict) -> str:
    value = getattr(record, name)
    if value in (None, ""):
        return ""
    if name in LIST_FIELDS:
        return labels.get(name, {}).get(value, value)
    display = getattr(record, f"get_{name}_display", None)
    return str(display() if display else value)
