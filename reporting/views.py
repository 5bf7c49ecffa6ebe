"""Dashboards, drill-down lists, CSV exports and revenue targets."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from crm.csvsafe import csv_response
from crm.csvsafe import safe_cell as csv_cell  # noqa: F401 (one writer for every export)
from crm.forms_util import add_service_errors
from crm.models import Role
from crm.permissions import role_required
from crm.templatetags.keel import tenant_reverse
from reporting import dashboards, services
from reporting.drilldown import records_table
from reporting.figures import FIGURES
from reporting.filters import parse_filters
from reporting.forms import TargetForm
from reporting.models import RevenueTarget
from reporting.selectors import Table


def _base(request: HttpRequest, filters, form, tab: str) -> dict:
    return {
        "filters": filters,
        "filter_form": form,
        "period": filters.period,
        "tab": tab,
        "currency": request.tenant.currency,
        "query": filters.query(),
    }


@role_required(Role.MANAGER)
def manager_dashboard(request: HttpRequest) -> TemplateResponse:
    filters, form = parse_filters(request)
    context = _base(request, filters, form, "manager")
    context.update(dashboards.manager_context(request.tenant, filters))
    return TemplateResponse(request, "reporting/manager.html", context)


@role_required(Role.MANAGER)
def health_dashboard(request: HttpRequest) -> TemplateResponse:
    filters, form = parse_filters(request)
    context = _base(request, filters, form, "health")
    context.update(dashboards.health_context(request.tenant, filters))
    return TemplateResponse(request, "reporting/health.html", context)


@role_required(Role.REP)
def rep_dashboard(request: HttpRequest) -> TemplateResponse:
    filters, form = parse_filters(request, owners=False)
    context = _base(request, filters, form, "rep")
    context.update(dashboards.rep_context(request.tenant, filters, request.user))
    return TemplateResponse(request, "reporting/rep.html", context)


def _own_filters(request: HttpRequest):
    """Managers see anyone's records; a rep only their own (the owner filter is forced)."""
    if request.membership.is_manager:
        return parse_filters(request)
    filters, form = parse_filters(request, owners=False)
    filters.owner = request.user
    return filters, form


@role_required(Role.REP)
def records(request: HttpRequest) -> TemplateResponse:
    figure = request.GET.get("figure", "")
    if figure not in FIGURES:
        raise Http404("No such figure.")
    filters, form = _own_filters(request)
    table = records_table(figure, request.tenant, filters, request.GET)
    if table is None:
        raise Http404("No such figure.")
    rows = list(zip(table.rows, table.links or [None] * len(table.rows), strict=False))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context = _base(request, filters, form, "records")
    context.update(
        {
            "figure": FIGURES[figure],
            "table": table,
            "page": page,
            "export_query": filters.query(
                figure=figure,
                table="records",
                record=request.GET.get("record"),
                field=request.GET.get("field"),
            ),
            "back": "reporting:rep" if not request.membership.is_manager else (
                "reporting:health" if FIGURES[figure].scope == "health" else "reporting:manager"
            ),
        }
    )  # fmt: skip
    return TemplateResponse(request, "reporting/records.html", context)


def table_csv(table: Table, filename: str) -> HttpResponse:
    return csv_response(filename, list(table.columns), table.rows, bom=False)


@role_required(Role.REP)
def export(request: HttpRequest) -> HttpResponse:
    name = request.GET.get("table", "")
    manager = request.membership.is_manager
    if name == "records":
        figure = request.GET.get("figure", "")
        if figure not in FIGURES:
            raise Http404("No such figure.")
        filters, _ = _own_filters(request)
        table = records_table(figure, request.tenant, filters, request.GET)
        if table is not None:
            # The drill-down page shows the first rows; the CSV has them all.
            table.rows = table.rows
    else:
        if not manager and name not in dashboards.REP_TABLES:
            raise PermissionDenied("Your role does not allow this.")
        filters, _ = _own_filters(request)
        table = dashboards.build_table(name, request.tenant, filters, user=request.user)
    if table is None:
        raise Http404("No such table.")
    p = filters.period
    filename = f"keel-{request.tenant.slug}-{table.key}-{p.start}-{p.last_day}.csv"
    return table_csv(table, filename)


@role_required(Role.MANAGER)
def target_list(request: HttpRequest) -> TemplateResponse:
    form = TargetForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.save_target(by=request.user, **form.service_kwargs())
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Target saved.")
                return redirect(tenant_reverse("reporting:targets"))
        status = 422
    targets = RevenueTarget.objects.select_related("owner").order_by("-start", "owner__full_name")
    context = {
        "form": form,
        "targets": targets,
        "tab": "targets",
        "currency": request.tenant.currency,
    }
    return TemplateResponse(request, "reporting/targets.html", context, status=status)


@require_POST
@role_required(Role.MANAGER)
def target_delete(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(RevenueTarget, pk=pk)
    services.delete_target(target, by=request.user)
    messages.success(request, "Target removed.")
    return redirect(tenant_reverse("reporting:targets"))


def parse_amount(value: str) -> Decimal | None:
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError):
        return None
