"""Forms of Settings → Automations: the settings, a cadence step, an assignment rule."""

from __future__ import annotations

from django import forms

from contacts.choices import choice_options
from contacts.models import AssignmentRule, ChoiceList
from contacts.selectors import member_users
from pipeline.models import Stage

HOURS = [(h, f"{h:02d}:00") for h in range(24)]


class AutomationSettingsForm(forms.Form):
    reminder_lead_minutes = forms.IntegerField(
        min_value=0,
        max_value=24 * 60,
        label="Task reminders (minutes before the due time)",
        help_text="0 reminds at the due time.",
    )
    digest_hour = forms.TypedChoiceField(
        choices=HOURS,
        coerce=int,
        label="Daily digest and weekly summary from",
        help_text="In the workspace's time zone; the weekly summary goes out on Mondays.",
    )
    rotting_days = forms.IntegerField(
        min_value=1,
        max_value=365,
        label="Rotting period (days)",
        help_text="An open deal with no activity or move for this long is stale.",
    )
    renewal_offsets = forms.CharField(
        max_length=60,
        required=False,
        label="Renewal notices (days before the contract ends)",
        help_text="Separated by commas, e.g. 90, 60, 30. Leave empty for no notices.",
    )
    copy_managers_from = forms.IntegerField(
        min_value=1,
        max_value=730,
        required=False,
        label="Copy managers from (days before the end)",
        help_text="Managers get the notices at this many days or fewer. Empty: never.",
    )

    def clean_renewal_offsets(self) -> list[int]:
        raw = self.cleaned_data["renewal_offsets"].replace(";", ",")
        days = []
        for part in filter(None, (p.strip() for p in raw.split(","))):
            if not part.isdigit() or not 1 <= int(part) <= 730:
                raise forms.ValidationError(f"“{part}” is not a number of days from 1 to 730.")
            days.append(int(part))
        return sorted(set(days), reverse=True)


class CadenceStepForm(forms.Form):
    stage = forms.ModelChoiceField(queryset=Stage.unscoped.none(), label="When a deal enters")
    offset_days = forms.IntegerField(min_value=0, max_value=365, label="After (days)")
    title = forms.CharField(max_length=200, label="Task")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = (
            Stage.objects.active()
            .select_related("pipeline")
            .order_by("pipeline__position", "pipeline_id", "position")
        )
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name} · {s.name}"


class AssignmentRuleForm(forms.Form):
    name = forms.CharField(max_length=80)
    applies_to = forms.ChoiceField(choices=AssignmentRule.AppliesTo.choices, label="Applies to")
    source = forms.ChoiceField(required=False, label="Lead source")
    territory = forms.CharField(
        max_length=100,
        required=False,
        help_text="The organization's country or region, e.g. Germany or Bavaria. Empty: any.",
    )
    min_amount = forms.DecimalField(
        required=False, min_value=0, max_digits=14, decimal_places=2, label="Deal amount from"
    )
    max_amount = forms.DecimalField(
        required=False, min_value=0, max_digits=14, decimal_places=2, label="Deal amount up to"
    )
    members = forms.ModelMultipleChoiceField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        label="Give records in turn to",
        error_messages={"invalid_choice": "Choose active members of this workspace."},
    )
    position = forms.IntegerField(
        min_value=0, max_value=1000, label="Order", help_text="Lower numbers are tried first."
    )
    is_active = forms.BooleanField(required=False, label="Active", initial=True)

    def __init__(self, *args, current_source: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        options = choice_options(ChoiceList.LEAD_SOURCE)
        if current_source and current_source not in {v for v, _ in options}:
            options.append((current_source, current_source))
        self.fields["source"].choices = [("", "Any source"), *options]
        self.fields["members"].queryset = member_users()
