"""Input validation for the governance pages. The services validate again and decide."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from contacts.forms import DateTimeInput
from contacts.models import Contact
from contacts.selectors import member_users
from crm.audit import VERBS, verb_label
from crm.models import FieldDefinition
from governance.imports.targets import targets
from governance.models import Consent, ImportJob
from governance.services.fields import EXPECTABLE


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class FieldForm(forms.Form):
    record_type = forms.ChoiceField(choices=FieldDefinition.RecordType.choices, label="Add to")
    label = forms.CharField(max_length=80)
    field_type = forms.ChoiceField(choices=FieldDefinition.Type.choices, label="Type")
    key = forms.RegexField(
        regex=r"^[a-z][a-z0-9_]{0,49}$",
        required=False,
        label="Key",
        help_text="How imports, exports, the API and stage criteria name it (custom:<key>). "
        "Made from the label if left empty; it cannot change later.",
        error_messages={"invalid": "Use lowercase letters, digits and underscores."},
    )
    help_text = forms.CharField(max_length=200, required=False, label="Help text")
    is_required = forms.BooleanField(
        required=False,
        label="Always required",
        help_text="Forms and imports refuse a record without a value.",
    )
    choices = forms.CharField(
        required=False,
        label="Options",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For a single or multiple choice: one option per line.",
    )

    def __init__(self, *args, instance: FieldDefinition | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance = instance
        if instance is not None:
            for name in ("record_type", "field_type", "key"):
                self.fields[name].disabled = True
                self.fields[name].required = False
            self.initial.update(
                record_type=instance.record_type,
                field_type=instance.field_type,
                key=instance.key,
                label=instance.label,
                help_text=instance.help_text,
                is_required=instance.is_required,
                choices="\n".join(instance.choices),
            )

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields = {
            "label": data["label"],
            "help_text": data.get("help_text", ""),
            "is_required": data.get("is_required", False),
            "choices": _lines(data.get("choices", "")),
        }
        if self.instance is None:
            fields.update(
                record_type=data["record_type"],
                field_type=data["field_type"],
                key=data.get("key", ""),
            )
        return fields


class ExpectedFieldsForm(forms.Form):
    """Which built-in fields each record type should have filled in."""

    def __init__(self, *args, current: dict[str, list[str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        titles = {"contact": "Contacts", "organization": "Organizations", "deal": "Open deals"}
        for kind, options in EXPECTABLE.items():
            self.fields[kind] = forms.MultipleChoiceField(
                choices=list(options.items()),
                required=False,
                label=titles[kind],
                widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
            )
            self.initial.setdefault(kind, current.get(kind, []))


class ChoiceListForm(forms.Form):
    labels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        label="Options, one per line, in order",
        help_text="Removing an option retires it: records keep it, new input no longer offers it.",
    )

    def labels_list(self) -> list[str]:
        return _lines(self.cleaned_data["labels"])


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportJob.Kind.choices, label="Import")
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 or Latin-1, separated by commas or semicolons, with a header row.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv"}),
    )


class MappingForm(forms.Form):
    """One select per column of the file: the field it goes into, or nothing."""

    def __init__(self, *args, job: ImportJob, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        choices = [("", "— don't import —"), *((t.name, t.label) for t in targets(job.kind))]
        for index, header in enumerate(job.headers):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(choices=choices, required=False, label=header)
            self.initial.setdefault(name, job.mapping.get(str(index), ""))

    def mapping(self) -> dict[str, str]:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return {
            name[len("col_") :]: value
            for name, value in data.items()
            if name.startswith("col_") and value
        }

    def columns(self) -> list[tuple[str, Any]]:
        return [(header, self[f"col_{i}"]) for i, header in enumerate(self.job.headers)]


# What a group of actions in the Action filter acts on, where its code's words would not do.
VERB_GROUPS = {
    "tenant": "Workspace",
    "api_token": "API token",  # nosec B105: a record type's label, not a secret
    "field": "Custom field",
    "quality": "Data quality",
    "target": "Revenue target",
}


def verb_choices(current: str | None = "") -> list:
    """Actions in words, grouped by what they act on ("Deal": any, Created, Moved…); a
    verb from an older link that the list does not know stays choosable."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for verb, label in VERBS.items():
        noun = verb.split(".", 1)[0]
        group = VERB_GROUPS.get(noun) or verb_label(noun)
        groups.setdefault(group, [(noun, f"{group} (any action)")]).append((verb, label))
    choices: list = [("", "Any action")]
    choices += list(groups.items())
    known = {value for options in groups.values() for value, _ in options}
    if current and current not in known and re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", current):
        choices.append((current, verb_label(current)))
    return choices


class AuditFilterForm(forms.Form):
    TARGET_TYPES = [
        ("", "Any record"),
        ("pipeline.deal", "Deals"),
        ("contacts.contact", "Contacts"),
        ("contacts.organization", "Organizations"),
        ("pipeline.stage", "Stages and their criteria"),
        ("pipeline.pipeline", "Pipelines"),
        ("crm.fielddefinition", "Custom fields"),
        ("crm.membership", "Members and roles"),
        ("crm.tenant", "Workspace settings and choice lists"),
        ("governance.importjob", "Imports"),
        ("governance.dataexport", "Exports"),
        ("governance.erasurerequest", "Erasures"),
    ]

    target_type = forms.ChoiceField(choices=TARGET_TYPES, required=False, label="Record")
    target = forms.RegexField(
        regex=r"^[a-z_]+\.[a-z_]+:\d+$", required=False, widget=forms.HiddenInput
    )
    actor = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="Who")
    verb = forms.ChoiceField(required=False, label="Action")
    field = forms.RegexField(
        regex=r"^[a-z0-9_:]+$", max_length=60, required=False, label="Field changed"
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "Anyone")] + [
            (u.pk, str(u)) for u in member_users(active_only=False)
        ]
        self.fields["verb"].choices = verb_choices(self.data.get("verb") if self.is_bound else "")
        self.fields["field"].widget.attrs["placeholder"] = "e.g. amount"


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(choices=Consent.Purpose.choices)
    status = forms.ChoiceField(choices=Consent.Status.choices, label="Answer")
    source = forms.ChoiceField(choices=Consent.Source.choices, label="How")
    given_at = forms.DateTimeField(label="When", widget=DateTimeInput())
    note = forms.CharField(max_length=300, required=False, label="Note")


class ErasureForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        label="Request",
        help_text="Who asked, how and when, e.g. “E-mail from the person on 3 March”.",
    )
    confirm = forms.BooleanField(
        label="I understand this removes the person's data for good",
        error_messages={"required": "Tick the box to confirm."},
    )


class RetentionForm(forms.Form):
    is_enabled = forms.BooleanField(required=False, label="Run the policy every day")
    inactive_months = forms.IntegerField(
        min_value=6, max_value=120, label="Months without activity", initial=24
    )
    lifecycles = forms.MultipleChoiceField(
        choices=Contact.Lifecycle.choices,
        label="Contacts in these lifecycle stages",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
