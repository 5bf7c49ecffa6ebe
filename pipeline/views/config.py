"""Settings: pipelines, stages and their criteria, lost reasons, the rotting period.

Admins change them; managers see them read-only (a POST from a manager is a 403).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from contacts.views.common import done, post_only
from crm.forms_util import add_service_errors
from crm.models import Role
from crm.templatetags.keel import tenant_reverse
from pipeline import services
from pipeline.forms import (
    CriterionForm,
    LostReasonForm,
    PipelineForm,
    RottingForm,
    StageDeleteForm,
    StageForm,
)
from pipeline.models import LostReason, Pipeline, Stage, StageCriterion
from pipeline.selectors import config as selectors
from pipeline.views.common import pipeline_view

manager_view = pipeline_view(Role.MANAGER)


def _require_admin(request: HttpRequest) -> None:
    if request.method == "POST" and not request.membership.is_admin:
        raise PermissionDenied("Only admins change pipelines; managers see them.")


def _settings_url() -> str:
    return tenant_reverse("pipeline:pipeline-settings")


def _pipeline_url(pipeline: Pipeline) -> str:
    return tenant_reverse("pipeline:pipeline-edit", pipeline.pk)


@manager_view
def pipeline_settings(request: HttpRequest) -> HttpResponse:
    """Every pipeline with its stages, and the rotting period."""
    _require_admin(request)
    settings = services.pipeline_settings()
    form = RottingForm(request.POST or None, initial={"rotting_days": settings.rotting_days})
    if request.method == "POST" and form.is_valid():
        try:
            services.set_rotting_days(by=request.user, days=form.cleaned_data["rotting_days"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, _settings_url(), "Rotting period saved.")
    context = {
        "pipelines": selectors.pipelines_with_stages(),
        "rotting_form": form,
        "can_change": request.membership.is_admin,
    }
    return render(
        request, "pipeline/settings/pipelines.html", context, status=422 if form.is_bound else 200
    )


@manager_view
def pipeline_create(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = PipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = services.create_pipeline(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, _pipeline_url(pipeline), f"Pipeline “{pipeline}” added.")
    context = {"form": form, "can_change": request.membership.is_admin}
    return render(
        request,
        "pipeline/settings/pipeline_form.html",
        context,
        status=422 if form.is_bound else 200,
    )


def _pipeline_context(request: HttpRequest, pipeline: Pipeline, **extra: Any) -> dict[str, Any]:
    context = {
        "pipeline": pipeline,
        "stages": selectors.pipeline_stages(pipeline),
        "form": PipelineForm(instance=pipeline),
        "stage_form": StageForm(initial={"probability": 50, "kind": "open"}),
        "can_change": request.membership.is_admin,
    }
    context.update(extra)
    return context


@manager_view
def pipeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The pipeline's name and kind, its stages in order, and a form to add one."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    _require_admin(request)
    if request.method == "POST":
        form = PipelineForm(request.POST, instance=pipeline)
        if form.is_valid():
            try:
                services.update_pipeline(pipeline, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return done(request, _pipeline_url(pipeline), "Pipeline saved.")
        pipeline.refresh_from_db()
        context = _pipeline_context(request, pipeline, form=form)
        return render(request, "pipeline/settings/pipeline_edit.html", context, status=422)
    return render(
        request, "pipeline/settings/pipeline_edit.html", _pipeline_context(request, pipeline)
    )


@manager_view
def stage_create(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pk)
    if refused := post_only(request):
        return refused
    _require_admin(request)
    form = StageForm(request.POST)
    if form.is_valid():
        try:
            stage = services.create_stage(pipeline, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, _pipeline_url(pipeline), f"Stage “{stage}” added.")
    context = _pipeline_context(request, pipeline, stage_form=form)
    return render(request, "pipeline/settings/pipeline_edit.html", context, status=422)


@manager_view
def stage_reorder(request: HttpRequest, pk: int) -> HttpResponse:
    """The open stages in a new order (the list is dragged, or moved with the arrows)."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    if refused := post_only(request):
        return refused
    _require_admin(request)
    ids = [int(i) for i in request.POST.getlist("stage") if i.isdigit()]
    move, _, target = request.POST.get("move", "").partition(":")
    if move in ("up", "down") and target.isdigit():
        ids = selectors.open_stage_ids(pipeline)
        if int(target) in ids:
            i = ids.index(int(target))
            j = i - 1 if move == "up" else i + 1
            if 0 <= j < len(ids):
                ids[i], ids[j] = ids[j], ids[i]
    try:
        services.reorder_stages(pipeline, by=request.user, stage_ids=ids)
    except ValidationError as exc:
        context = _pipeline_context(request, pipeline, reorder_error=exc.messages[0])
        return render(request, "pipeline/settings/pipeline_edit.html", context, status=422)
    if request.htmx:
        context = _pipeline_context(request, pipeline)
        return render(request, "pipeline/settings/pipeline_edit.html#stage-table", context)
    return done(request, _pipeline_url(pipeline), "Stage order saved.")


def _stage_context(request: HttpRequest, stage: Stage, **extra: Any) -> dict[str, Any]:
    context = {
        "stage": stage,
        "pipeline": stage.pipeline,
        "criteria": selectors.criteria_of(stage),
        "form": StageForm(instance=stage),
        "criterion_form": CriterionForm(initial={"when": "entry", "kind": "field", "min_count": 1}),
        "can_change": request.membership.is_admin,
        "deal_count": selectors.deal_count(stage),
    }
    context.update(extra)
    return context


def _get_stage(pk: int) -> Stage:
    return get_object_or_404(Stage.objects.active().select_related("pipeline"), pk=pk)


@manager_view
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename, set probability, dwell limit and kind; add and remove criteria."""
    stage = _get_stage(pk)
    _require_admin(request)
    if request.method == "POST":
        form = StageForm(request.POST, instance=stage)
        if form.is_valid():
            try:
                services.update_stage(stage, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return done(
                    request, tenant_reverse("pipeline:stage-edit", stage.pk), "Stage saved."
                )
        stage.refresh_from_db()
        context = _stage_context(request, stage, form=form)
        return render(request, "pipeline/settings/stage_edit.html", context, status=422)
    return render(request, "pipeline/settings/stage_edit.html", _stage_context(request, stage))


@manager_view
def criterion_add(request: HttpRequest, pk: int) -> HttpResponse:
    stage = _get_stage(pk)
    if refused := post_only(request):
        return refused
    _require_admin(request)
    form = CriterionForm(request.POST)
    if form.is_valid():
        try:
            criterion = services.add_criterion(stage, by=request.user, **form.service_fields())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            url = tenant_reverse("pipeline:stage-edit", stage.pk)
            return done(request, url, f"Criterion added: {criterion.describe(stage.name)}.")
    context = _stage_context(request, stage, criterion_form=form)
    return render(request, "pipeline/settings/stage_edit.html", context, status=422)


@manager_view
def criterion_delete(request: HttpRequest, pk: int) -> HttpResponse:
    criterion = get_object_or_404(StageCriterion.objects.select_related("stage"), pk=pk)
    if refused := post_only(request):
        return refused
    _require_admin(request)
    stage = criterion.stage
    text = criterion.describe(stage.name)
    services.remove_criterion(criterion, by=request.user)
    return done(request, tenant_reverse("pipeline:stage-edit", stage.pk), f"Removed: {text}.")


@manager_view
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, choosing where the stage's deals go; then remove it."""
    stage = _get_stage(pk)
    _require_admin(request)
    form = StageDeleteForm(request.POST if request.method == "POST" else None, stage=stage)
    if request.method == "POST" and form.is_valid():
        try:
            moved = services.delete_stage(
                stage, by=request.user, move_deals_to=form.cleaned_data["move_deals_to"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            message = f"Stage “{stage}” removed."
            if moved:
                message = f"Stage “{stage}” removed; {moved} deal(s) moved."
            return done(request, _pipeline_url(stage.pipeline), message)
    context = {
        "stage": stage,
        "pipeline": stage.pipeline,
        "form": form,
        "deal_count": selectors.deal_count(stage),
        "can_change": request.membership.is_admin,
    }
    status = 422 if form.is_bound else 200
    return render(request, "pipeline/settings/stage_delete.html", context, status=status)


@manager_view
def lost_reasons(request: HttpRequest) -> HttpResponse:
    """The list reps choose from when a deal is lost; add, rename, retire."""
    _require_admin(request)
    form = LostReasonForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            services.create_lost_reason(by=request.user, label=form.cleaned_data["label"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, tenant_reverse("pipeline:lost-reasons"), "Reason added.")
    context = {
        "reasons": selectors.lost_reasons(),
        "form": form,
        "can_change": request.membership.is_admin,
    }
    status = 422 if form.is_bound else 200
    return render(request, "pipeline/settings/lost_reasons.html", context, status=status)


@manager_view
def lost_reason_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reason = get_object_or_404(LostReason, pk=pk)
    _require_admin(request)
    form = LostReasonForm(
        request.POST or None, initial={"label": reason.label, "is_active": reason.is_active}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_lost_reason(reason, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, tenant_reverse("pipeline:lost-reasons"), "Reason saved.")
    context = {"reason": reason, "form": form, "can_change": request.membership.is_admin}
    status = 422 if form.is_bound else 200
    return render(request, "pipeline/settings/lost_reason_edit.html", context, status=status)
