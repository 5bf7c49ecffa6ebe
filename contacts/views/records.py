# Long on purpose: contacts and organizations share one implementation (RecordKind) beside their views.
"""Contact and organization pages: lists, detail with timeline, forms, bulk, quick-log, merge.

Both record types work alike, so each view is a short function that hands its RecordKind
(model, form, filter, services) to the shared implementation below it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from contacts import duplicates, selectors, services
from contacts.choices import choice_labels
from contacts.filters import ContactFilter, OrganizationFilter
from contacts.forms import (
    ActivityForm,
    BulkForm,
    ContactForm,
    OrganizationForm,
    TaskForm,
)
from contacts.models import Activity, Contact, Organization, SavedView
from contacts.services.records import CONTACT_FIELDS, ORGANIZATION_FIELDS
from contacts.timeline import panels, timeline
from contacts.views.common import done, next_url, post_only, render_page, rep_view
from crm import custom_fields
from crm.forms_util import add_service_errors
from crm.permissions import require_edit
from crm.templatetags.keel import tenant_reverse

PER_PAGE = 50


@dataclass(frozen=True)
class RecordKind:
    name: str  # "contact", "organization": URL names are f"contacts:{name}-…"
    plural: str
    model: type[Contact] | type[Organization]
    form: type[ContactForm] | type[OrganizationForm]
    filter: type[ContactFilter] | type[OrganizationFilter]
    rows: Callable[[], QuerySet]
    list_name: str
    fields: list[str]
    create: Callable[..., Any]
    update: Callable[..., Any]
    merge: Callable[..., Any]
    related: tuple[str, ...]

    def url(self, page: str, *args: Any) -> str:
        return tenant_reverse(f"contacts:{self.name}-{page}", *args)

    def urls_for(self, record: Contact | Organization) -> dict[str, str]:
        """The record's pages, for templates shared by both kinds."""
        pages = {
            "detail": "detail",
            "edit": "edit",
            "log": "log",
            "task": "task-create",
            "merge": "merge",
        }
        urls = {key: self.url(page, record.pk) for key, page in pages.items()}
        urls["list"] = self.url("list")
        return urls


CONTACTS = RecordKind(
    name="contact",
    plural="contacts",
    model=Contact,
    form=ContactForm,
    filter=ContactFilter,
    rows=selectors.contact_list,
    list_name=SavedView.ListName.CONTACTS,
    fields=CONTACT_FIELDS,
    create=services.create_contact,
    update=services.update_contact,
    merge=services.merge_contacts,
    related=("organization", "owner", "created_by"),
)
ORGANIZATIONS = RecordKind(
    name="organization",
    plural="organizations",
    model=Organization,
    form=OrganizationForm,
    filter=OrganizationFilter,
    rows=selectors.organization_list,
    list_name=SavedView.ListName.ORGANIZATIONS,
    fields=ORGANIZATION_FIELDS,
    create=services.create_organization,
    update=services.update_organization,
    merge=services.merge_organizations,
    related=("owner", "created_by"),
)


def _get(kind: RecordKind, pk: int) -> Contact | Organization:
    """A live record of the current tenant, or 404 (another tenant's id included)."""
    return get_object_or_404(kind.model.objects.live().select_related(*kind.related), pk=pk)


# Lists


@rep_view
def contact_list(request: HttpRequest) -> HttpResponse:
    return _list(request, CONTACTS, request.GET)


@rep_view
def organization_list(request: HttpRequest) -> HttpResponse:
    return _list(request, ORGANIZATIONS, request.GET)


def _list(
    request: HttpRequest,
    kind: RecordKind,
    params: QueryDict,
    *,
    bulk_form: BulkForm | None = None,
    status: int = 200,
) -> HttpResponse:
    filterset = kind.filter(params, queryset=kind.rows(), request=request)
    page = Paginator(filterset.qs, PER_PAGE).get_page(params.get("page"))
    query = params.copy()
    for key in ("page", "view"):
        query.pop(key, None)
    query_string = _clean(query)
    views = list(SavedView.objects.filter(user=request.user, list_name=kind.list_name))
    context = {
        "kind": kind,
        "filter": filterset,
        "page": page,
        "query_string": query_string,
        "saved_views": views,
        "active_view": next((v for v in views if v.query == query_string), None),
        "bulk_form": bulk_form or BulkForm(model=kind.model),
        "labels": choice_labels(),
        "filtered": any(k not in ("sort",) for k in query),
        "list_url": kind.url("list"),
        "export_url": tenant_reverse(f"governance:export-{kind.plural}"),
    }
    return render_page(
        request, f"contacts/{kind.name}_list.html", context, partial="results", status=status
    )


def _clean(query: QueryDict) -> str:
    clean = QueryDict(mutable=True)
    for key, values in query.lists():
        kept = [v for v in values if v]
        if kept:
            clean.setlist(key, kept)
    return clean.urlencode()


@rep_view
def contact_bulk(request: HttpRequest) -> HttpResponse:
    return _bulk(request, CONTACTS)


@rep_view
def organization_bulk(request: HttpRequest) -> HttpResponse:
    return _bulk(request, ORGANIZATIONS)


def _bulk(request: HttpRequest, kind: RecordKind) -> HttpResponse:
    if refused := post_only(request):
        return refused
    back = next_url(request, kind.url("list"))
    params = QueryDict(back.partition("?")[2])
    form = BulkForm(request.POST, model=kind.model)
    if not form.is_valid():
        return _list(request, kind, params, bulk_form=form, status=422)
    records = list(form.cleaned_data["ids"])
    not_yours = [r for r in records if not request.membership.can_edit(r)]
    if not_yours:
        form.add_error(
            None,
            f"You can change only records you own; {len(not_yours)} of the {len(records)} "
            "selected belong to someone else. Nothing was changed.",
        )
        return _list(request, kind, params, bulk_form=form, status=403)
    try:
        if form.cleaned_data["action"] == "assign_owner":
            owner = form.cleaned_data["owner"]
            changed = services.assign_owner(records, owner=owner, by=request.user)
            message = (
                f"{changed} {kind.plural if changed != 1 else kind.name} now owned by {owner}."
            )
        else:
            lifecycle = form.cleaned_data["lifecycle"]
            changed = services.change_lifecycle(records, lifecycle=lifecycle, by=request.user)
            label = dict(kind.model.Lifecycle.choices)[lifecycle]
            message = f"{changed} {kind.plural if changed != 1 else kind.name} moved to {label}."
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _list(request, kind, params, bulk_form=form, status=422)
    return done(request, back, message)


# Detail


@rep_view
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, CONTACTS, pk)


@rep_view
def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, ORGANIZATIONS, pk)


def _detail(request: HttpRequest, kind: RecordKind, pk: int) -> HttpResponse:
    record = get_object_or_404(kind.model.objects.select_related(*kind.related), pk=pk)
    if record.merged_into_id:
        messages.info(request, f"{record} was merged into this record.")
        return redirect(kind.url("detail", record.merged_into_id))
    if record.erased_at:
        raise Http404("This record was erased.")
    before = parse_datetime(request.GET.get("before", "") or "")
    if before is not None and request.htmx:
        context = {
            "record": record,
            "kind": kind,
            "urls": kind.urls_for(record),
            "timeline": timeline(record, before=before),
        }
        return render_page(request, "contacts/_record.html#timeline-page", context)
    services.touch_record(record, by=request.user)
    log_kind = request.GET.get("log")
    log_form = _log_form(record, log_kind) if log_kind in Activity.Kind.values else None
    task_form = _task_form(request) if "task" in request.GET else None
    return _render_detail(
        request, kind, record, log_form=log_form, task_form=task_form, before=before
    )


def _render_detail(
    request: HttpRequest,
    kind: RecordKind,
    record: Contact | Organization,
    *,
    log_form: ActivityForm | None = None,
    task_form: TaskForm | None = None,
    before: datetime | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _detail_context(
        request, kind, record, log_form=log_form, task_form=task_form, before=before
    )
    return render(request, f"contacts/{kind.name}_detail.html", context, status=status)


def _detail_context(
    request: HttpRequest,
    kind: RecordKind,
    record: Contact | Organization,
    *,
    log_form: ActivityForm | None = None,
    task_form: TaskForm | None = None,
    before: datetime | None = None,
) -> dict[str, Any]:
    context = {
        "kind": kind,
        "record": record,
        kind.name: record,
        "urls": kind.urls_for(record),
        "timeline": timeline(record, before=before),
        "older": before is not None,
        "open_tasks": list(selectors.open_tasks_of(record)),
        "last_activity_at": selectors.last_activity_at(record),
        "labels": choice_labels(),
        "custom_values": custom_fields.display(kind.name, record.custom_fields),
        "can_edit": request.membership.can_edit(record),
        "panels": panels(f"{kind.name}-detail", request, record),
        "log_form": log_form,
        "task_form": task_form,
        "log_kinds": Activity.Kind.choices,
        "now": timezone.now(),
    }
    if kind is ORGANIZATIONS:
        context["org_contacts"] = list(selectors.organization_contacts(record))
    return context


# Create and edit


@rep_view
def contact_create(request: HttpRequest) -> HttpResponse:
    return _create(request, CONTACTS)


@rep_view
def organization_create(request: HttpRequest) -> HttpResponse:
    return _create(request, ORGANIZATIONS)


def _create(request: HttpRequest, kind: RecordKind) -> HttpResponse:
    initial: dict[str, Any] = {"owner": request.user.pk}
    if kind is CONTACTS and request.GET.get("organization", "").isdigit():
        initial["organization"] = request.GET["organization"]
    form = kind.form(request.POST or None, initial=initial)
    matches: list[duplicates.Match] = []
    can_confirm = False
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields(kind.fields)
        try:
            record = kind.create(
                by=request.user, allow_duplicate=form.cleaned_data["confirm_duplicate"], **fields
            )
        except services.DuplicateFound as exc:
            if exc.blocking:  # the e-mail is taken: say so beside the field
                add_service_errors(form, exc)
            matches, can_confirm = exc.matches, not exc.blocking
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, kind.url("detail", record.pk), f"{record} created.")
    context = {"kind": kind, "form": form, "matches": matches, "can_confirm": can_confirm}
    status = 422 if form.is_bound else 200
    return render_page(request, f"contacts/{kind.name}_form.html", context, status=status)


@rep_view
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, CONTACTS, pk)


@rep_view
def organization_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, ORGANIZATIONS, pk)


def _edit(request: HttpRequest, kind: RecordKind, pk: int) -> HttpResponse:
    record = _get(kind, pk)
    require_edit(request, record)
    form = kind.form(request.POST or None, instance=record)
    matches: list[duplicates.Match] = []
    if request.method == "POST" and form.is_valid():
        try:
            kind.update(record, by=request.user, **form.service_fields(kind.fields))
        except services.DuplicateFound as exc:
            add_service_errors(form, exc)
            matches = exc.matches
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, kind.url("detail", record.pk), f"{record} saved.")
    context = {"kind": kind, "form": form, "record": record, "matches": matches}
    status = 422 if form.is_bound else 200
    return render_page(request, f"contacts/{kind.name}_form.html", context, status=status)


# Quick-log and tasks on a record page


def _log_form(record: Contact | Organization, log_kind: str) -> ActivityForm:
    label = dict(Activity.Kind.choices)[log_kind]
    subject = f"Note on {record}" if log_kind == "note" else f"{label} with {record}"
    return ActivityForm.unbound(log_kind, subject=subject)


def _task_form(request: HttpRequest, data: QueryDict | None = None) -> TaskForm:
    return TaskForm(data, initial={"assignee": request.user.pk})


@rep_view
def contact_log(request: HttpRequest, pk: int) -> HttpResponse:
    return _log(request, CONTACTS, pk)


@rep_view
def organization_log(request: HttpRequest, pk: int) -> HttpResponse:
    return _log(request, ORGANIZATIONS, pk)


def _links(record: Contact | Organization) -> dict[str, Model]:
    return {"contact": record} if isinstance(record, Contact) else {"organization": record}


def _log(request: HttpRequest, kind: RecordKind, pk: int) -> HttpResponse:
    record = _get(kind, pk)
    if request.method != "POST":
        log_kind = request.GET.get("kind", "call")
        log_kind = log_kind if log_kind in Activity.Kind.values else "call"
        if not request.htmx:
            return redirect(f"{kind.url('detail', record.pk)}?log={log_kind}#quick-log")
        context = {
            "record": record,
            "kind": kind,
            "urls": kind.urls_for(record),
            "log_form": _log_form(record, log_kind),
        }
        return render(request, "contacts/_record.html#quick-log", context)
    form = ActivityForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                activity = services.log_activity(
                    by=request.user, **_links(record), **form.activity_fields()
                )
                next_action = form.next_action()
                if next_action:
                    services.create_task(by=request.user, **next_action, **_links(record))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            message = f"{activity.get_kind_display()} logged."
            if next_action:
                message = f"{activity.get_kind_display()} logged, next action planned."
            return _record_changed(request, kind, record, message)
    if request.htmx:
        context = {"record": record, "kind": kind, "urls": kind.urls_for(record), "log_form": form}
        return render(request, "contacts/_record.html#quick-log", context, status=422)
    return _render_detail(request, kind, record, log_form=form, status=422)


@rep_view
def contact_task_create(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_create(request, CONTACTS, pk)


@rep_view
def organization_task_create(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_create(request, ORGANIZATIONS, pk)


def _task_create(request: HttpRequest, kind: RecordKind, pk: int) -> HttpResponse:
    record = _get(kind, pk)
    if request.method != "POST":
        if not request.htmx:
            return redirect(f"{kind.url('detail', record.pk)}?task=1#quick-log")
        context = {
            "record": record,
            "kind": kind,
            "urls": kind.urls_for(record),
            "task_form": _task_form(request),
        }
        return render(request, "contacts/_record.html#quick-log", context)
    form = _task_form(request, request.POST)
    if form.is_valid():
        try:
            services.create_task(by=request.user, **form.cleaned_data, **_links(record))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _record_changed(request, kind, record, "Next action planned.")
    if request.htmx:
        context = {"record": record, "kind": kind, "urls": kind.urls_for(record), "task_form": form}
        return render(request, "contacts/_record.html#quick-log", context, status=422)
    return _render_detail(request, kind, record, task_form=form, status=422)


def _record_changed(
    request: HttpRequest, kind: RecordKind, record: Contact | Organization, message: str
) -> HttpResponse:
    """htmx: the fresh timeline and next actions, swapped in place; otherwise back to the page."""
    if not request.htmx:
        return done(request, kind.url("detail", record.pk), message)
    context = _detail_context(request, kind, record)
    context["toast"] = message
    return render(request, "contacts/_record.html#record-changed", context)
