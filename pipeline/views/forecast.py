"""The forecast: weighted and unweighted open pipeline by expected-close month and owner."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from contacts.selectors import member_users
from pipeline import selectors
from pipeline.models import Pipeline
from pipeline.views.common import pipeline_view

MONTH_CHOICES = (3, 6, 12)


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
    data = selectors.forecast(
        pipelines=chosen, today=today, tz=request.tenant.tz, months=months, owner_id=owner_id
    )
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
        "owners": member_users(),
        "link_base": base,
        "today": today,
    }
    return render(request, "pipeline/forecast.html", context)
