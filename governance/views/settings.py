"""Settings → overview, custom fields, choice lists, expected fields, data quality."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contacts.models import ChoiceList
from crm.forms_util import add_service_errors
from crm.models import FieldDefinition
from crm.templatetags.keel import tenant_reverse
from governance import quality, selectors
from governance.forms import ChoiceListForm, ExpectedFieldsForm, FieldForm
from governance.services import fields as field_services
from governance.views.common import can_change, governance_view, require_admin

PER_PAGE = 50


@governance_view()
def overview(request: HttpRequest) -> HttpResponse:
    """Settings: every area on one page, with what needs attention."""
    context = {**selectors.overview(), "can_change": can_change(request)}
    return render(request, "governance/overview.html", context)


# Custom fields


@governance_view()
def field_list(request: HttpRequest) -> HttpResponse:
    context = {
        "groups": selectors.field_groups(),
        "criteria_fields": selectors.fields_in_criteria(),
        "expected_form": ExpectedFieldsForm(current=field_services.expected_fields()),
        "can_change": can_change(request),
    }
    return render(request, "governance/fields.html", context)


@governance_view()
def field_create(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    record_type = request.GET.get("record_type", "contact")
    form = FieldForm(request.POST or None, initial={"record_type": record_type})
    if request.method == "POST" and form.is_valid():
        try:
            defn = field_services.create_field(by=request.user, **form.service_fields())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, f"“{defn.label}” added to {defn.get_record_type_display().lower()}."
            )
            return redirect(tenant_reverse("governance:field-list") + f"#{defn.record_type}")
    status = 422 if form.is_bound else 200
    return render(
        request, "governance/field_form.html", {"form": form, "field": None}, status=status
    )


@governance_view()
def field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    defn = get_object_or_404(FieldDefinition, pk=pk)
    form = FieldForm(request.POST or None, instance=defn)
    if request.method == "POST":
        require_admin(request)
        if form.is_valid():
            try:
                field_services.update_field(defn, by=request.user, **form.service_fields())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"“{defn.label}” saved.")
                return redirect(tenant_reverse("governance:field-list") + f"#{defn.record_type}")
    context = {"form": form, "field": defn, "can_change": can_change(request)}
    status = 422 if form.is_bound else 200
    return render(request, "governance/field_form.html", context, status=status)


@governance_view()
@require_POST
def field_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Remove, restore, or move a field up or down."""
    defn = get_object_or_404(FieldDefinition, pk=pk)
    require_admin(request)
    back = tenant_reverse("governance:field-list") + f"#{defn.record_type}"
    try:
        if action == "remove":
            field_services.remove_field(defn, by=request.user)
            messages.success(request, f"“{defn.label}” removed; records keep their values.")
        elif action == "restore":
            field_services.restore_field(defn, by=request.user)
            messages.success(request, f"“{defn.label}” restored.")
        elif action in ("up", "down"):
            field_services.move_field(defn, by=request.user, up=action == "up")
        else:
            raise Http404("No such action.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(back)


@governance_view()
@require_POST
def expected_fields(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    form = ExpectedFieldsForm(request.POST, current=field_services.expected_fields())
    if form.is_valid():
        field_services.save_expected_fields(by=request.user, fields=form.cleaned_data)
        messages.success(request, "Expected fields saved.")
    else:
        messages.error(request, "Choose among the listed fields.")
    return redirect(tenant_reverse("governance:field-list") + "#expected")


# Choice lists


@governance_view()
def choice_lists(request: HttpRequest) -> HttpResponse:
    """The lists, each with its own form; a POST names the list it saves (`list`)."""
    posted = request.POST.get("list", "") if request.method == "POST" else ""
    if request.method == "POST":
        require_admin(request)
        if posted not in ChoiceList.values:
            raise Http404("No such list.")
    lists = []
    for value, label in ChoiceList.choices:
        options = field_services.list_options(value)
        active = "\n".join(o.label for o in options if o.is_active)
        data = request.POST if value == posted else None
        form = ChoiceListForm(data, prefix=value, initial={"labels": active})
        lists.append({"name": value, "label": label, "options": options, "form": form})
    status = 200
    if posted:
        form = next(item["form"] for item in lists if item["name"] == posted)
        if form.is_valid():
            try:
                field_services.save_choice_list(
                    by=request.user, list_name=posted, labels=form.labels_list()
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"{ChoiceList(posted).label} saved.")
                return redirect(tenant_reverse("governance:choice-lists") + f"#{posted}")
        status = 422
    context = {
        "lists": lists,
        "lost_reasons": selectors.lost_reasons(),
        "can_change": can_change(request),
    }
    return render(request, "governance/choices.html", context, status=status)


# Data quality


@governance_view()
def data_quality(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "contacts")
    if kind not in quality.KINDS:
        kind = "contacts"
    records, rules = quality.problems(quality.KINDS[kind])
    page = Paginator(records, PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {"record": r, "problems": quality.describe(r, rules), "score": r.dq_score} for r in page
    ]
    context = {
        "kind": kind,
        "kinds": [
            ("contacts", "Contacts"),
            ("organizations", "Organizations"),
            ("deals", "Open deals"),
        ],
        "counts": quality.summary(),
        "page": page,
        "rows": rows,
        "rules": rules,
    }
    return render(request, "governance/data_quality.html", context)
