"""Deal pages: the list, the deal with its stage path and timeline, the forms."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from contacts.choices import choice_labels
from contacts.forms import ActivityForm, TaskForm
from contacts.models import Activity, Contact, Organization
from contacts.timeline import panels
from contacts.views.common import done, render_page
from crm import custom_fields
from crm.forms_util import add_service_errors
from crm.permissions import require_edit
from crm.templatetags.keel import tenant_reverse
from pipeline import services
from pipeline.filters import DealFilter
from pipeline.forms import DealForm
from pipeline.models import Deal
from pipeline.selectors import deals as selectors
from pipeline.selectors.common import mark_stale, rotting_days
from pipeline.services import DealChanged, StageCriteriaUnmet
from pipeline.timeline import deal_timeline
from pipeline.views.common import get_deal, pipeline_view

PER_PAGE = 50


@pipeline_view()
def deal_list(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    params.setdefault("status", "open")
    deals = DealFilter(params, queryset=selectors.deal_list(), request=request)
    page = Paginator(deals.qs, PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    mark_stale(list(page.object_list), now=now, rotting=rotting_days())
    params.pop("page", None)
    filtered = any(v for k, v in params.items() if k not in ("sort", "page", "status"))
    context = {
        "filter": deals,
        "page": page,
        "query_string": params.urlencode(),
        "list_url": tenant_reverse("pipeline:deal-list"),
        "export_url": tenant_reverse("governance:export-deals"),
        "filtered": filtered,
        "now": now,
        "today": timezone.localdate(),
    }
    return render_page(request, "pipeline/deal_list.html", context, partial="results")


@pipeline_view()
def deal_create(request: HttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {"owner": request.user.pk}
    for name, model in (("organization", Organization), ("primary_contact", Contact)):
        wanted = request.GET.get(name, "")
        if wanted.isdigit() and model.objects.filter(pk=int(wanted)).exists():
            initial[name] = int(wanted)
    if "primary_contact" in initial and "organization" not in initial:
        contact = Contact.objects.get(pk=initial["primary_contact"])
        initial["organization"] = contact.organization_id
    stage = request.GET.get("stage", "")
    if stage.isdigit():
        initial["stage"] = int(stage)
    form = DealForm(request.POST or None, initial=initial, currency=request.tenant.currency)
    if request.method == "POST" and form.is_valid():
        try:
            deal = services.create_deal(
                by=request.user,
                stage=form.cleaned_data["stage"],
                contacts=form.cleaned_data["other_contacts"],
                **form.deal_fields(),
            )
        except StageCriteriaUnmet as exc:
            _criteria_errors(form, exc)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, deal.get_absolute_url(), f"Deal “{deal}” created.")
    status = 422 if form.is_bound else 200
    return render(request, "pipeline/deal_form.html", {"form": form, "deal": None}, status=status)


def _criteria_errors(form: DealForm, exc: StageCriteriaUnmet) -> None:
    for u in exc.unmet:
        form.add_error(u.field if u.field in form.fields else None, u.label)


def _detail_context(request: HttpRequest, deal: Deal, **extra: Any) -> dict[str, Any]:
    now = timezone.now()
    before = (
        parse_datetime(request.GET.get("before", "") or "") if "before" in request.GET else None
    )
    stages = selectors.stage_path(deal, now=now)
    context = {
        "deal": deal,
        "path": stages,
        "won_stage": next((s.stage for s in stages if s.stage.is_won), None),
        "lost_stage": next((s.stage for s in stages if s.stage.is_lost), None),
        "open_tasks": selectors.open_tasks_of(deal),
        "other_contacts": selectors.other_contacts(deal),
        "timeline": deal_timeline(deal, before=before),
        "older": before is not None,
        "can_edit": request.membership.can_edit(deal),
        "now": now,
        "last_transition": deal.transitions.select_related("by").order_by("-at", "-id").first(),
        "urls": _urls(deal),
        "log_kinds": Activity.Kind.choices,
        "labels": choice_labels(),
        "custom_values": custom_fields.display("deal", deal.custom_fields),
        "panels": panels("deal-detail", request, deal),
    }
    context.update(extra)
    return context


def _urls(deal: Deal) -> dict[str, str]:
    return {
        "detail": tenant_reverse("pipeline:deal-detail", deal.pk),
        "edit": tenant_reverse("pipeline:deal-edit", deal.pk),
        "log": tenant_reverse("pipeline:deal-log", deal.pk),
        "task": tenant_reverse("pipeline:deal-task-create", deal.pk),
        "move": tenant_reverse("pipeline:deal-move", deal.pk),
    }


@pipeline_view()
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_deal(pk)
    if request.htmx and "before" in request.GET:
        before = parse_datetime(request.GET["before"])
        context = {
            "deal": deal,
            "urls": _urls(deal),
            "timeline": deal_timeline(deal, before=before),
        }
        return render(request, "pipeline/deal_detail.html#timeline-page", context)
    extra: dict[str, Any] = {}
    if request.GET.get("log") in Activity.Kind.values:
        extra["log_form"] = _log_form(deal, request.GET["log"])
    elif request.GET.get("task"):
        extra["task_form"] = TaskForm(initial={"assignee": deal.owner_id or request.user.pk})
    return render(request, "pipeline/deal_detail.html", _detail_context(request, deal, **extra))


@pipeline_view()
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole form; with htmx, the key fields card edited in place."""
    deal = get_deal(pk)
    require_edit(request, deal)
    inline = request.GET.get("inline") == "1" or request.POST.get("inline") == "1"
    form = DealForm(request.POST or None, instance=deal, currency=request.tenant.currency)
    version = request.POST.get("version", "")
    if request.method == "POST" and form.is_valid():
        try:
            services.update_deal(
                deal,
                by=request.user,
                expected_version=int(version) if version.isdigit() else None,
                contacts=form.cleaned_data["other_contacts"],
                **form.deal_fields(),
            )
        except DealChanged as exc:
            form.add_error(None, exc.messages[0])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if request.htmx and inline:
                context = _detail_context(request, deal, toast="Deal saved.")
                return render(request, "pipeline/deal_detail.html#deal-saved", context)
            return done(request, deal.get_absolute_url(), "Deal saved.")
    status = 422 if form.is_bound else 200
    context = {"form": form, "deal": deal, "inline": inline}
    if request.htmx and inline:
        return render(request, "pipeline/deal_detail.html#fields-form", context, status=status)
    return render(request, "pipeline/deal_form.html", context, status=status)


def _log_form(deal: Deal, kind: str) -> ActivityForm:
    label = dict(Activity.Kind.choices)[kind]
    subject = f"Note on {deal}" if kind == "note" else f"{label}: {deal}"
    return ActivityForm.unbound(kind, subject=subject)


@pipeline_view()
def deal_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a call, e-mail, meeting or note on the deal (and plan the next action)."""
    deal = get_deal(pk)
    require_edit(request, deal)
    if request.method != "POST":
        kind = request.GET.get("kind", "call")
        kind = kind if kind in Activity.Kind.values else "call"
        if not request.htmx:
            return redirect(f"{deal.get_absolute_url()}?log={kind}#quick-log")
        context = {"deal": deal, "urls": _urls(deal), "log_form": _log_form(deal, kind)}
        return render(request, "pipeline/deal_detail.html#quick-log", context)
    form = ActivityForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                activity = services.log_deal_activity(
                    deal, by=request.user, **form.activity_fields()
                )
                next_action = form.next_action()
                if next_action:
                    services.create_deal_task(deal, by=request.user, **next_action)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            message = f"{activity.get_kind_display()} logged."
            if next_action:
                message = f"{activity.get_kind_display()} logged, next action planned."
            return _changed(request, deal, message)
    return _quick_form_refused(request, deal, log_form=form)


@pipeline_view()
def deal_task_create(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_deal(pk)
    require_edit(request, deal)
    if request.method != "POST":
        if not request.htmx:
            return redirect(f"{deal.get_absolute_url()}?task=1#quick-log")
        form = TaskForm(initial={"assignee": deal.owner_id or request.user.pk})
        context = {"deal": deal, "urls": _urls(deal), "task_form": form}
        return render(request, "pipeline/deal_detail.html#quick-log", context)
    form = TaskForm(request.POST)
    if form.is_valid():
        try:
            services.create_deal_task(deal, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _changed(request, deal, "Next action planned.")
    return _quick_form_refused(request, deal, task_form=form)


def _quick_form_refused(request: HttpRequest, deal: Deal, **forms: Any) -> HttpResponse:
    if request.htmx:
        context = {"deal": deal, "urls": _urls(deal), **forms}
        return render(request, "pipeline/deal_detail.html#quick-log", context, status=422)
    context = _detail_context(request, deal, **forms)
    return render(request, "pipeline/deal_detail.html", context, status=422)


def _changed(request: HttpRequest, deal: Deal, message: str) -> HttpResponse:
    if not request.htmx:
        return done(request, deal.get_absolute_url(), message)
    context = _detail_context(request, deal, toast=message)
    return render(request, "pipeline/deal_detail.html#deal-changed", context)
