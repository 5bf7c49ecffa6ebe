"""The dashboards' filters (period, pipeline, owner) read from the query string."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms

from crm.models import Membership, Tenant, User
from pipeline.models import Pipeline
from reporting.periods import PRESETS, Period, preset_period
from reporting.scorecards import Scope


class FilterForm(forms.Form):
    period = forms.ChoiceField(choices=list(PRESETS.items()), required=False, label="Period")
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To (last day)", widget=forms.DateInput(attrs={"type": "date"})
    )
    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.unscoped.none(), required=False, empty_label="Revenue pipelines"
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Whole team"
    )

    def __init__(self, *args, owners: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = Pipeline.objects.all()
        if owners:
            self.fields["owner"].queryset = User.objects.filter(
                pk__in=Membership.objects.values("user_id")
            ).order_by("full_name", "email")
        else:
            del self.fields["owner"]


@dataclass
class Filters:
    preset: str
    period: Period
    pipeline: Pipeline | None = None
    owner: User | None = None

    def scope(self, tenant: Tenant, *, by_owner: bool = False, owner: bool = True) -> Scope:
        return Scope(
            tenant=tenant,
            period=self.period,
            owner_id=self.owner.pk if (self.owner and owner and not by_owner) else None,
            pipeline_id=self.pipeline.pk if self.pipeline else None,
            by_owner=by_owner,
        )

    def params(self, **changes) -> dict[str, str]:
        values = {"period": self.preset}
        if self.preset == "custom":
            values["start"] = self.period.start.isoformat()
            values["end"] = self.period.last_day.isoformat()
        if self.pipeline:
            values["pipeline"] = str(self.pipeline.pk)
        if self.owner:
            values["owner"] = str(self.owner.pk)
        values.update({k: str(v) for k, v in changes.items() if v is not None})
        return {k: v for k, v in values.items() if v != ""}

    def query(self, **changes) -> str:
        return urlencode(self.params(**changes))

    @property
    def filtered(self) -> bool:
        return bool(self.pipeline or self.owner)


def parse_filters(request, *, owners: bool = True) -> tuple[Filters, FilterForm]:
    """Filters from the query string; anything invalid falls back to the default period."""
    tz = request.tenant.tz
    form = FilterForm(request.GET or None, owners=owners)
    data = form.cleaned_data if form.is_valid() else {}
    preset = data.get("period") or "last_month"
    start: date | None = data.get("start")
    last: date | None = data.get("end")
    if preset == "custom" and start and last and last >= start:
        period = Period(start, last + timedelta(days=1), tz)
    else:
        preset = preset if preset != "custom" else "last_month"
        period = preset_period(preset, tz)
    filters = Filters(
        preset=preset,
        period=period,
        pipeline=data.get("pipeline"),
        owner=data.get("owner") if owners else None,
    )
    if not form.is_bound:
        form = FilterForm(initial={"period": preset}, owners=owners)
    return filters, form
