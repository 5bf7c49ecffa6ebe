"""Forms: the settings (admins), a potential estimate, the retention view's period."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django import forms

from intelligence.models import COMPONENTS, IntelligenceSettings
from reporting.periods import PRESETS, Period, preset_period

DEFAULT_RETENTION_PERIOD = "last_quarter"


class SettingsForm(forms.ModelForm):
    class Meta:
        model = IntelligenceSettings
        fields = [
            *[f"weight_{key}" for key in COMPONENTS],
            "churn_threshold",
            "churn_drop",
            "current_threshold",
            "potential_threshold",
            "potential_source",
        ]
        widgets = {"potential_source": forms.RadioSelect}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for key, label in COMPONENTS.items():
            self.fields[f"weight_{key}"].label = label

    def weight_fields(self) -> list[forms.BoundField]:
        return [self[f"weight_{key}"] for key in COMPONENTS]

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class PotentialForm(forms.Form):
    estimate = forms.DecimalField(
        label="Potential estimate",
        min_value=0,
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text="What they could still buy beyond the open deals; empty clears it.",
    )


class PeriodForm(forms.Form):
    period = forms.ChoiceField(choices=list(PRESETS.items()), required=False, label="Period")
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To (last day)", widget=forms.DateInput(attrs={"type": "date"})
    )

    def period_in(self, tz: ZoneInfo) -> tuple[str, Period]:
        """The chosen period; anything invalid falls back to the last quarter."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        preset = data.get("period") or DEFAULT_RETENTION_PERIOD
        start: date | None = data.get("start")
        last: date | None = data.get("end")
        if preset == "custom" and start and last and last >= start:
            return preset, Period(start, last + timedelta(days=1), tz)
        preset = preset if preset != "custom" else DEFAULT_RETENTION_PERIOD
        return preset, preset_period(preset, tz)
