"""Imports (upload, mapping with preview, progress, error report) and list exports."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from crm.csvsafe import csv_response
from crm.forms_util import add_service_errors
from crm.models import Role
from crm.templatetags.keel import tenant_reverse
from governance.forms import MappingForm, UploadForm
from governance.imports.targets import targets
from governance.models import DataExport, ImportJob, ImportRowError
from governance.services import exports, imports
from governance.views.common import can_change, governance_view, require_admin

ERRORS_SHOWN = 20


@governance_view()
def import_list(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        require_admin(request)
        if form.is_valid():
            try:
                job = imports.create_import(
                    by=request.user,
                    kind=form.cleaned_data["kind"],
                    upload=form.cleaned_data["file"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect(tenant_reverse("governance:import-detail", job.pk))
    jobs = Paginator(
        ImportJob.objects.select_related("created_by").order_by("-created_at"), 25
    ).get_page(request.GET.get("page"))
    recent_exports = DataExport.objects.select_related("created_by").order_by("-created_at")[:10]
    context = {
        "form": form,
        "jobs": jobs,
        "exports": recent_exports,
        "can_change": can_change(request),
        "max_mb": imports.max_bytes() // 1_048_576,
    }
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "governance/imports.html", context, status=status)


@governance_view()
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Mapping and preview while the job waits; progress and the outcome afterwards."""
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    if job.status != ImportJob.Status.MAPPING:
        return _progress_page(request, job)
    form = MappingForm(request.POST or None, job=job)
    status = 200
    if request.method == "POST":
        require_admin(request)
        status = 422
        if form.is_valid():
            try:
                if request.POST.get("action") == "start":
                    imports.start_import(job, by=request.user, mapping=form.mapping())
                    messages.success(request, "Import started.")
                    return redirect(tenant_reverse("governance:import-detail", job.pk))
                imports.save_mapping(job, by=request.user, mapping=form.mapping())
                status = 200
            except ValidationError as exc:
                add_service_errors(form, exc)
    mapping = form.mapping() if form.is_bound and form.is_valid() else job.mapping
    try:
        rows = imports.preview(job, mapping=mapping)
    except ValidationError as exc:
        rows = []
        add_service_errors(form, exc)
    context = {
        "job": job,
        "form": form,
        "rows": rows,
        "encoding": imports.encoding_label(job),
        "targets": {t.name: t.label for t in targets(job.kind)},
        "can_change": can_change(request),
    }
    return render(request, "governance/import_mapping.html", context, status=status)


def _progress_context(job: ImportJob) -> dict:
    return {
        "job": job,
        "errors": list(
            ImportRowError.objects.filter(job=job).order_by("row_number")[:ERRORS_SHOWN]
        ),
    }


def _progress_page(request: HttpRequest, job: ImportJob) -> HttpResponse:
    return render(request, "governance/import_progress.html", _progress_context(job))


@governance_view()
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled by htmx every second while the import runs."""
    job = get_object_or_404(ImportJob, pk=pk)
    if not request.htmx:
        return redirect(tenant_reverse("governance:import-detail", job.pk))
    response = render(request, "governance/import_progress.html#progress", _progress_context(job))
    patch_vary_headers(response, ["HX-Request"])
    return response


@governance_view()
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    """Every refused row with its reason, as CSV (the row as it was, after the reason)."""
    job = get_object_or_404(ImportJob, pk=pk)
    header, rows = imports.error_report(job)
    stem = job.file_name.rsplit(".", 1)[0][:60] or "import"
    return csv_response(f"{stem}-errors.csv", header, rows)


@governance_view(Role.REP)
def export_list(request: HttpRequest, kind: str) -> HttpResponse:
    """The contact, organization or deal list as CSV, with the filters of the page."""
    if kind not in exports.COLUMNS:
        raise Http404("No such list.")
    params = request.GET.copy()
    params.pop("page", None)
    rows = exports.filtered_rows(kind, params, request)
    header, table = exports.table(kind, rows)
    body = list(table)
    exports.record_export(by=request.user, kind=kind, query=_query(params), row_count=len(body))
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    return csv_response(f"{request.tenant.slug}-{kind}-{stamp}.csv", header, body)


def _query(params: QueryDict) -> str:
    clean = QueryDict(mutable=True)
    for key, values in params.lists():
        kept = [v for v in values if v]
        if kept:
            clean.setlist(key, kept)
    return clean.urlencode()
