"""Settings → Audit trail: who changed what, when, filterable, for managers and admins.

There is deliberately no view that edits or deletes an entry.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from governance import audit
from governance.forms import AuditFilterForm
from governance.views.common import governance_view

PER_PAGE = 50


@governance_view()
@require_GET
def audit_trail(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    page = Paginator(audit.filtered(data), PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "entries": audit.readable(list(page.object_list)),
        "query_string": params.urlencode(),
        "filtered": bool(data and any(data.values())),
        "record": _record(data.get("target", "")),
    }
    template = "governance/audit.html#results" if request.htmx else "governance/audit.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _record(target: str) -> object | None:
    """The record the trail is filtered to, for the page's heading (None if gone)."""
    if not target:
        return None
    label, _, pk = target.partition(":")
    model = audit.MODELS_BY_LABEL.get(label)
    if model is None:
        return None
    return model.objects.filter(pk=int(pk)).first()
