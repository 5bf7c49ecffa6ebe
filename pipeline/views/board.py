"""The board, its columns, and the move: drag a card, or fill in what the stage asks."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from contacts.models import Activity, Organization
from contacts.views.common import done, render_page
from crm.forms_util import add_service_errors
from crm.permissions import require_edit
from crm.templatetags.keel import tenant_reverse
from pipeline import services
from pipeline.criteria import Unmet, unmet_criteria
from pipeline.forms import MoveForm, html_name
from pipeline.models import Deal, Pipeline, Stage
from pipeline.selectors import board as selectors
from pipeline.services import DealChanged, StageCriteriaUnmet
from pipeline.views.common import (
    board_filters,
    board_query,
    chosen_pipeline,
    default_filters,
    get_deal,
    pipeline_view,
)


@pipeline_view()
def board(request: HttpRequest) -> HttpResponse:
    pipeline = chosen_pipeline(request.GET)
    if pipeline is None:
        return render(request, "pipeline/board.html", {"pipeline": None})
    form, filters = board_filters(request.GET, request.membership)
    data = selectors.board(pipeline, filters, user_id=request.user.pk, now=timezone.now())
    organization = None
    if filters.organization_id:
        organization = Organization.objects.filter(pk=filters.organization_id).first()
    context = {
        "pipeline": pipeline,
        "pipelines": list(Pipeline.objects.all()),
        "board": data,
        "filter_form": form,
        "filters": filters,
        "default_view": filters == default_filters(request.membership),
        "filter_organization": organization,
        "query": board_query(request.GET),
        "now": timezone.now(),
        "stages": [c.stage for c in data.columns] + data.terminal,
    }
    return render_page(request, "pipeline/board.html", context, partial="board-columns")


@pipeline_view()
def board_column(request: HttpRequest, pk: int) -> HttpResponse:
    """The next cards of one column (htmx); without JavaScript, the list of its deals."""
    stage = get_object_or_404(Stage.objects.active().select_related("pipeline"), pk=pk)
    query = board_query(request.GET)
    if not request.htmx:
        return redirect(f"{tenant_reverse('pipeline:deal-list')}?stage={stage.pk}&{query}")
    _, filters = board_filters(request.GET, request.membership)
    col = selectors.column(
        stage,
        filters,
        user_id=request.user.pk,
        now=timezone.now(),
        after=request.GET.get("after", ""),
    )
    context = {
        "column": col,
        "query": query,
        "now": timezone.now(),
    }
    return render(request, "pipeline/board.html#cards-page", context)


# The move


def _stages(deal: Deal) -> list[Stage]:
    return list(Stage.objects.active().filter(pipeline_id=deal.pipeline_id))


def _posted_fields(request: HttpRequest) -> list[str]:
    """The criteria fields the dialog sent (only those are read)."""
    names = [n for n in Deal.CRITERION_FIELDS if n in request.POST]
    names += [
        "custom:" + key.removeprefix("custom__")
        for key in request.POST
        if key.startswith("custom__")
    ]
    return names


def _in_memory(deal: Deal, form: MoveForm) -> None:
    """Apply what was typed to the deal object (never saved) to show what is still unmet."""
    for name, value in form.typed_fields().items():
        setattr(deal, name, value)
    reason = form.cleaned_data.get("lost_reason") if "lost_reason" in form.fields else None
    if reason is not None:
        deal.lost_reason = reason


@pipeline_view()
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """GET ?to=<stage>: the dialog for that move. POST: move, or say what is missing.

    Answers: 200 with the board's updates (or a redirect) when the deal moved; 422 with
    the dialog listing every unmet criterion; 409 when someone changed the deal first.
    """
    deal = get_deal(pk)
    require_edit(request, deal)
    stages = _stages(deal)
    by_pk = {s.pk: s for s in stages}
    if request.method != "POST":
        to_stage = (
            by_pk.get(int(request.GET["to"])) if request.GET.get("to", "").isdigit() else None
        )
        if to_stage is None or to_stage.pk == deal.stage_id:
            raise Http404("No such stage in this deal's pipeline.")
        unmet = unmet_criteria(deal, to_stage)
        form = _move_form(request, deal, stages, to_stage, unmet, bound=False)
        return _dialog(request, deal, to_stage, form, unmet)

    to_pk = request.POST.get("to_stage", "")
    to_stage = by_pk.get(int(to_pk)) if to_pk.isdigit() else None
    if to_stage is None:
        raise Http404("No such stage in this deal's pipeline.")
    form = _move_form(request, deal, stages, to_stage, [], bound=True)
    if not form.is_valid():
        return _dialog(request, deal, to_stage, form, unmet_criteria(deal, to_stage), status=422)
    action = request.POST.get("action", "move")
    if action.startswith("log:"):
        return _log_it(request, deal, stages, to_stage, form, wanted=action[4:])
    try:
        services.move_deal(
            deal,
            to_stage=to_stage,
            by=request.user,
            override_reason=form.cleaned_data["override_reason"] if action == "override" else None,
            lost_reason=form.cleaned_data.get("lost_reason"),
            lost_note=form.cleaned_data.get("lost_note", ""),
            fields=form.typed_fields(),
            expected_version=form.cleaned_data.get("version"),
        )
    except StageCriteriaUnmet as exc:
        form = _move_form(request, deal, stages, to_stage, exc.unmet, bound=True)
        form.is_valid()
        _flag_still_missing(form, exc.unmet)
        return _dialog(request, deal, to_stage, form, exc.unmet, status=422)
    except DealChanged as exc:
        return _conflict(request, exc)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _dialog(request, deal, to_stage, form, unmet_criteria(deal, to_stage), status=422)
    return _moved(request, deal, to_stage)


def _move_form(
    request: HttpRequest,
    deal: Deal,
    stages: list[Stage],
    to_stage: Stage,
    unmet: list[Unmet],
    *,
    bound: bool,
) -> MoveForm:
    names = _posted_fields(request) if bound else []
    names += [u.field for u in unmet if u.kind == "field" and u.field not in names]
    initial = {"to_stage": to_stage.pk, "version": deal.version}
    form = MoveForm(
        request.POST if bound else None,
        deal=deal,
        stages=stages,
        criteria_fields=names,
        currency=request.tenant.currency,
        initial=initial,
    )
    if to_stage.is_terminal:
        form.add_stage_fields(to_stage, request.tenant.currency)
    return form


def _flag_still_missing(form: MoveForm, unmet: list[Unmet]) -> None:
    """A field the person sent empty, still required: say so beside it."""
    for u in unmet:
        name = html_name(u.field) if u.kind == "field" else ""
        if name in form.fields and name in form.data and not form.has_error(name):
            form.add_error(name, u.label)


def _log_it(
    request: HttpRequest,
    deal: Deal,
    stages: list[Stage],
    to_stage: Stage,
    form: MoveForm,
    *,
    wanted: str,
) -> HttpResponse:
    """ "Log it" in the dialog: log the activity on the deal, then show what is left.

    `wanted` is the criterion's activity kind ("any" lets the person choose)."""
    kind = wanted if wanted in Activity.Kind.values else request.POST.get("log_kind_any", "")
    note = ""
    if kind not in Activity.Kind.values:
        form.add_error(None, "Choose what kind of activity to log.")
    else:
        label = Activity.Kind(kind).label
        subject = request.POST.get(f"log_subject_{wanted}", "").strip()[:200]
        try:
            services.log_deal_activity(
                deal, by=request.user, kind=kind, subject=subject or f"{label}: {deal}"
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            note = f"{label} logged on the deal."
    _in_memory(deal, form)
    unmet = unmet_criteria(deal, to_stage)
    fresh = _move_form(request, deal, stages, to_stage, unmet, bound=True)
    fresh.is_valid()
    for error in form.non_field_errors():
        fresh.add_error(None, error)
    return _dialog(request, deal, to_stage, fresh, unmet, note=note, status=200 if note else 422)


def _dialog(
    request: HttpRequest,
    deal: Deal,
    to_stage: Stage,
    form: MoveForm,
    unmet: list[Unmet],
    *,
    status: int = 200,
    note: str = "",
) -> HttpResponse:
    # Every field the stage asked for stays in the form, filled-in ones marked as done,
    # so what was typed is sent again with the next try.
    by_field = {u.field: u for u in unmet if u.kind == "field"}

    def why(u: Unmet | None) -> str:
        if u is None or u.kind != "field" or u.code.startswith("rule:"):
            return u.label if u else ""
        return f"Required to {'enter' if u.when == 'entry' else 'leave'} " + (
            to_stage.name if u.stage_id == to_stage.pk else deal.stage.name
        )

    rows = [
        {
            "unmet": by_field.get(name),
            "field": form[html_name(name)],
            "done": name not in by_field,
            "why": why(by_field.get(name)),
        }
        for name in form.criteria_fields
    ]
    if "lost_reason" in by_field and "lost_reason" in form.fields:
        u = by_field["lost_reason"]
        rows.append({"unmet": u, "field": form["lost_reason"], "done": False, "why": ""})
    rows += [{"unmet": u, "field": None, "done": False} for u in unmet if u.kind != "field"]
    extras = [form[name] for name in [*form.optional_fields, "lost_note"] if name in form.fields]
    if "lost_reason" in form.fields and "lost_reason" not in by_field:
        extras.insert(0, form["lost_reason"])
    if to_stage.is_won:
        title = f"Mark “{deal}” as won"
    elif to_stage.is_lost:
        title = f"Mark “{deal}” as lost"
    else:
        title = f"Before {to_stage.name}"
    context: dict[str, Any] = {
        "deal": deal,
        "to_stage": to_stage,
        "form": form,
        "rows": rows,
        "extras": extras,
        "unmet": unmet,
        "done_count": sum(1 for row in rows if row["done"]),
        "title": title,
        "note": note,
        "can_override": bool(unmet)
        and request.membership.is_manager
        and all(u.overridable for u in unmet),
        "from_board": request.POST.get("from", request.GET.get("from", "")) == "board",
        "query": board_query(request.GET),
    }
    return render_page(request, "pipeline/move.html", context, partial="move-dialog", status=status)


def _conflict(request: HttpRequest, exc: DealChanged) -> HttpResponse:
    context = {"deal": exc.deal, "message": exc.messages[0], "query": board_query(request.GET)}
    return render_page(request, "pipeline/move.html", context, partial="move-conflict", status=409)


def _moved(request: HttpRequest, deal: Deal, to_stage: Stage) -> HttpResponse:
    message = f"{deal} moved to {to_stage}."
    if to_stage.is_won:
        message = f"{deal} is won. Well done!"
    elif to_stage.is_lost:
        message = f"{deal} is marked as lost."
    from_board = request.POST.get("from") == "board"
    if not (request.htmx and from_board):
        return done(request, deal.get_absolute_url(), message)
    now = timezone.now()
    _, filters = board_filters(request.GET, request.membership)
    redraw = selectors.after_move(
        deal, to_stage=to_stage, filters=filters, user_id=request.user.pk, now=now
    )
    context = {
        "deal": deal,
        "card": redraw.card,
        "heads": redraw.heads,
        "to_stage": to_stage,
        "toast": message,
        "query": board_query(request.GET),
        "now": now,
        "summary": redraw.summary,
        "filters": filters,
    }
    return render(request, "pipeline/move.html#move-done", context)
