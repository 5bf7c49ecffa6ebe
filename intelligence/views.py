"""The value matrix, the accounts at risk, retention, the settings and potential estimates."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from contacts.models import Organization
from crm.forms_util import add_service_errors
from crm.models import Role
from crm.money import money_js
from crm.permissions import role_required
from crm.templatetags.keel import tenant_reverse
from intelligence import selectors, services, values
from intelligence.forms import PeriodForm, PotentialForm, SettingsForm
from intelligence.models import Quadrant
from reporting.periods import local_today
from reporting.scorecards import compute_scorecard


def _chart(matrix: values.Matrix, currency: str) -> dict:
    """What static/js/intelligence.js draws: one point per account, linking to it."""
    detail = tenant_reverse("contacts:organization-detail", 0).replace("/0/", "/{}/")
    return {
        "currency": currency,
        "money": money_js(currency),
        "thresholds": {
            "x": float(matrix.thresholds.current),
            "y": float(matrix.thresholds.potential),
        },
        "quadrants": dict(Quadrant.choices),
        "points": [
            {
                "x": float(a.current),
                "y": float(a.potential),
                "label": a.name,
                "url": detail.format(a.pk),
                "q": a.quadrant,
            }
            for a in matrix.accounts
        ],
    }


@role_required(Role.MANAGER)
def value_matrix(request: HttpRequest) -> TemplateResponse:
    tz = request.tenant.tz
    settings = values.intelligence_settings()
    matrix = values.value_matrix(today=local_today(tz), tz=tz, settings=settings)
    grouped = matrix.by_quadrant()
    quadrants = [
        {"key": q, "label": label, "help": values.QUADRANT_HELP[q], "accounts": grouped[q]}
        for q, label in Quadrant.choices
    ]
    context = {
        "tab": "matrix",
        "matrix": matrix,
        "quadrants": quadrants,
        "chart": _chart(matrix, request.tenant.currency),
        "currency": request.tenant.currency,
    }
    return TemplateResponse(request, "intelligence/matrix.html", context)


@role_required(Role.MANAGER)
def at_risk(request: HttpRequest) -> TemplateResponse:
    tz = request.tenant.tz
    settings = values.intelligence_settings()
    with timezone.override(tz):
        rows = selectors.at_risk(today=local_today(tz), tz=tz)
    context = {
        "tab": "at-risk",
        "rows": rows,
        "settings": settings,
        "currency": request.tenant.currency,
        "total": sum((r.revenue_at_risk for r in rows), values.ZERO),
    }
    return TemplateResponse(request, "intelligence/at_risk.html", context)


@role_required(Role.MANAGER)
def retention(request: HttpRequest) -> TemplateResponse:
    tz = request.tenant.tz
    form = PeriodForm(request.GET or None)
    preset, period = form.period_in(tz)
    if not form.is_bound:
        form = PeriodForm(initial={"period": preset})
    settings = values.intelligence_settings()
    data = selectors.retention(period, today=local_today(tz), settings=settings)
    scorecard = compute_scorecard(request.tenant, start=period.start, end=period.end)
    context = {
        "tab": "retention",
        "form": form,
        "preset": preset,
        "retention": data,
        "retention_rate": scorecard["retention_rate"],
        "scorecard_inputs": scorecard["inputs"],
        "currency": request.tenant.currency,
    }
    return TemplateResponse(request, "intelligence/retention.html", context)


@role_required(Role.ADMIN)
def settings_view(request: HttpRequest) -> HttpResponse:
    current = values.intelligence_settings()
    form = SettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_settings(by=request.user, **form.service_fields())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Account intelligence settings saved.")
            return redirect(tenant_reverse("intelligence:settings"))
    status = 422 if form.is_bound else 200
    return TemplateResponse(
        request, "intelligence/settings.html", {"form": form, "tab": "settings"}, status=status
    )


@role_required(Role.REP)
def set_potential(request: HttpRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(Organization.objects.live(), pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not services.can_set_potential(request.membership, org):
        raise PermissionDenied("Only a manager (or the owner, if allowed) sets the potential.")
    detail = tenant_reverse("contacts:organization-detail", org.pk)
    form = PotentialForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the potential as an amount of zero or more.")
        return redirect(detail)
    try:
        services.set_potential(org, by=request.user, estimate=form.cleaned_data["estimate"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Potential of {org} saved.")
    return redirect(detail)
