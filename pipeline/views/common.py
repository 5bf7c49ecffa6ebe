"""What every pipeline view shares: finding a deal, the board's filters, role checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.utils import timezone

from crm.models import Membership, Role
from crm.permissions import role_required
from pipeline.forms import BoardFilterForm
from pipeline.models import Deal, Pipeline
from pipeline.selectors.board import BoardFilters

BOARD_PARAMS = ("pipeline", "q", "owner", "mine", "organization", "stale")


def pipeline_view(role: str = Role.REP) -> Callable:
    """`role` and above; dates are read and shown in the tenant's time zone."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @role_required(role)
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            with timezone.override(request.tenant.tz):
                return view(request, *args, **kwargs)

        return wrapped

    return decorator


def get_deal(pk: int) -> Deal:
    """The deal, or 404 (another tenant's deal does not exist for the scoped manager)."""
    return get_object_or_404(
        Deal.objects.select_related(
            "stage", "pipeline", "organization", "primary_contact", "owner"
        ),
        pk=pk,
    )


FILTER_PARAMS = BOARD_PARAMS[1:]


def chose_filters(params: QueryDict) -> bool:
    """True when the request says which deals to show, even "everyone" (the filter form
    always sends its search box, empty or not); a bare link to the board does not."""
    return any(key in params for key in FILTER_PARAMS)


def default_filters(membership: Membership) -> BoardFilters:
    """What the board shows when nobody chose: a rep their own deals, others everyone's."""
    return BoardFilters(mine=not membership.is_manager)


def board_filters(
    params: QueryDict, membership: Membership
) -> tuple[BoardFilterForm, BoardFilters]:
    if not chose_filters(params):
        return BoardFilterForm(), default_filters(membership)
    form = BoardFilterForm(params)
    data = form.cleaned_data if form.is_valid() else {}
    filters = BoardFilters(
        owner_id=data.get("owner"),
        mine=bool(data.get("mine")),
        organization_id=data.get("organization"),
        q=(data.get("q") or "").strip(),
        stale=bool(data.get("stale")),
    )
    return form, filters


def board_query(params: QueryDict) -> str:
    """The board's filters as a query string, to carry them into partial requests.

    A choice of no filter at all ("everyone") is carried as an empty owner, so that the
    next column page or move does not fall back to the member's default."""
    kept = QueryDict(mutable=True)
    for key in BOARD_PARAMS:
        for value in params.getlist(key):
            if value:
                kept.appendlist(key, value)
    if chose_filters(params) and not chose_filters(kept):
        kept["owner"] = ""
    return kept.urlencode()


def chosen_pipeline(params: QueryDict) -> Pipeline | None:
    pipelines = Pipeline.objects.all()
    wanted = params.get("pipeline", "")
    if wanted.isdigit():
        found = pipelines.filter(pk=int(wanted)).first()
        if found:
            return found
    return pipelines.filter(kind=Pipeline.Kind.SALES).first() or pipelines.first()
