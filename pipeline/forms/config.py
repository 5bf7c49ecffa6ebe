"""Forms of the pipeline settings: pipelines, stages, criteria, lost reasons, rotting."""

from __future__ import annotations

from typing import Any

from django import forms

from contacts.models import Activity
from crm import custom_fields
from crm.custom_fields.schema import KEY_RE
from pipeline.criterion_text import CUSTOM_PREFIX
from pipeline.models import Deal, Pipeline, Stage, StageCriterion


class PipelineForm(forms.ModelForm):
    class Meta:
        model = Pipeline
        fields = ["name", "kind"]
        help_texts = {"kind": "Sales and renewals pipelines count in the forecast and won revenue."}

    def _post_clean(self) -> None:
        pass


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = ["name", "probability", "max_dwell_days", "kind"]
        help_texts = {
            "probability": "The chance a deal in this stage is won (0–100). Weights the forecast.",
            "max_dwell_days": "After this many days in the stage a deal counts as stale. "
            "Leave empty for no limit.",
        }
        widgets = {
            "probability": forms.NumberInput(attrs={"min": 0, "max": 100}),
            "max_dwell_days": forms.NumberInput(attrs={"min": 1}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["probability"].min_value = 0
        self.fields["probability"].max_value = 100

    def _post_clean(self) -> None:
        pass


class CriterionForm(forms.Form):
    when = forms.ChoiceField(choices=StageCriterion.When.choices, label="Applies")
    kind = forms.ChoiceField(choices=StageCriterion.Kind.choices, label="Require")
    field_name = forms.ChoiceField(required=False, label="Field")
    custom_key = forms.RegexField(
        regex=KEY_RE,
        required=False,
        label="or a custom field key",
        help_text="Lowercase letters, digits and underscores, e.g. po_number.",
        error_messages={"invalid": "Use lowercase letters, digits and underscores."},
    )
    activity_kind = forms.ChoiceField(required=False, label="Activity")
    activity_scope = forms.ChoiceField(
        choices=StageCriterion.Scope.choices, required=False, label="Logged"
    )
    min_count = forms.IntegerField(min_value=1, max_value=50, initial=1, label="At least")

    def __init__(self, *args, **kwargs) -> None:
        # Its own ids: the stage form on the same page has a "kind" too, and a label must
        # name its own select.
        kwargs.setdefault("auto_id", "id_criterion_%s")
        super().__init__(*args, **kwargs)
        self.fields["field_name"].choices = [("", "—"), *Deal.CRITERION_FIELDS.items()]
        custom = custom_fields.criterion_choices()
        if custom:
            self.fields["field_name"].choices = [
                ("", "—"),
                ("Deal fields", list(Deal.CRITERION_FIELDS.items())),
                ("Custom fields", custom),
            ]
        self.fields["activity_kind"].choices = [
            *Activity.Kind.choices,
            (StageCriterion.ANY_ACTIVITY, "Any activity"),
        ]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == StageCriterion.Kind.FIELD:
            if data.get("custom_key"):
                data["field_name"] = CUSTOM_PREFIX + data["custom_key"]
            elif not data.get("field_name"):
                self.add_error("field_name", "Choose the field the stage requires.")
        return data

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "when": data["when"],
            "kind": data["kind"],
            "field_name": data.get("field_name") or "",
            "activity_kind": data.get("activity_kind") or "",
            "activity_scope": data.get("activity_scope") or "",
            "min_count": data.get("min_count") or 1,
        }


class StageDeleteForm(forms.Form):
    move_deals_to = forms.ModelChoiceField(
        queryset=Stage.unscoped.none(),  # set per request in __init__
        required=False,
        label="Move its deals to",
        empty_label="Choose a stage…",
    )

    def __init__(self, *args, stage: Stage, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["move_deals_to"].queryset = (
            Stage.objects.active()
            .filter(pipeline_id=stage.pipeline_id, kind=Stage.Kind.OPEN)
            .exclude(pk=stage.pk)
        )


class LostReasonForm(forms.Form):
    label = forms.CharField(max_length=80, label="Reason")
    is_active = forms.BooleanField(required=False, initial=True, label="Offered to reps")


class RottingForm(forms.Form):
    rotting_days = forms.IntegerField(
        min_value=1,
        max_value=365,
        label="Rotting period (days)",
        help_text="An open deal with no activity for this many days counts as stale.",
    )
