"""The forecast: weighted and unweighted open pipeline by expected-close month and owner."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from contacts.selectors import member_choices
from crm.money import money_js
from pipeline.models import Pipeline
from pipeline.selectors import forecast as selectors
from pipeline.views.common import pipeline_view

MONTH_CHOICES = (3, 6, 12)
# Owners shown one per row; the rest share a row until "Show all" (a 200-rep team's
# table was 2,600 cells, most of the page's time: bench/NOTES.md).
FORECAST_OWNERS = 25


@pipeline_view()
def forecast(request: HttpRequest) -> HttpResponse:
    pipelines = list(Pipeline.objects.all())
    wanted = request.GET.get("pipeline", "")
    chosen = [p for p in pipelines if str(p.pk) == wanted]
    if not chosen:
        chosen = [p for p in pipelines if p.counts_as_revenue]
    months = int(request.GET["months"]) if request.GET.get("months") in {"3", "6", "12"} else 6
    owner = request.GET.get("owner", "")
    owner_id = request.user.pk if owner == "me" else (int(owner) if owner.isdigit() else None)
    today = timezone.localdate()
    show_all = request.GET.get("owners") == "all"
    data = selectors.forecast(
        pipelines=chosen,
        today=today,
        tz=request.tenant.tz,
        months=months,
        owner_id=owner_id,
        top=None if show_all else FORECAST_OWNERS,
    )
    everyone = request.GET.copy()
    everyone["owners"] = "all"
    base = {"status": "open", "months": months}
    if len(chosen) == 1:
        base["pipeline"] = chosen[0].pk
    else:
        base["revenue"] = "true"
    context = {
        "forecast": data,
        "pipelines": pipelines,
        "chosen": chosen,
        "pipeline_param": wanted if len(chosen) == 1 and wanted else "",
        "months": months,
        "month_choices": MONTH_CHOICES,
        "owner": owner,
        "owner_choices": [("", "Whole team"), ("me", "Me")]
        + [(pk, name) for pk, name in member_choices() if pk != request.user.pk],
        "show_all_query": everyone.urlencode(),
        "link_base": base,
        "today": today,
        "money": money_js(request.tenant.currency),  # for the chart's axis and tooltips
    }
    return render(request, "pipeline/forecast.html", context)
