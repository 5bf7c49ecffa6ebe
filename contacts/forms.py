"""Input validation for the contacts pages. Services do the rest (and validate again)."""

from __future__ import annotations

from django import forms
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.choices import choice_options
from contacts.models import Activity, ChoiceList, Contact, Organization, SavedView, Task
from contacts.selectors import member_users
from contacts.services.records import CONTACT_FIELDS, ORGANIZATION_FIELDS
from contacts.services.work import SNOOZE_OPTIONS, snooze_target
from crm.custom_fields.forms import add_form_fields, form_values

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
NOT_HERE = "That {what} does not exist in this workspace (or no longer does). Choose another."


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs) -> None:
        super().__init__(format=DATETIME_FORMAT, **kwargs)


def member_field(label: str, *, required: bool = True) -> forms.ModelChoiceField:
    """A choice among the active members of the current tenant; anyone else is refused."""
    return forms.ModelChoiceField(
        queryset=member_users(),
        label=label,
        required=required,
        empty_label="Nobody" if not required else "Choose…",
        error_messages={"invalid_choice": "Choose an active member of this workspace."},
    )


def _list_choices(list_name: str, current: str = "") -> list[tuple[str, str]]:
    options = choice_options(list_name)
    if current and current not in {v for v, _ in options}:
        options.append((current, current))  # a retired value stays selectable on its record
    return [("", "—"), *options]


class ServiceModelForm(forms.ModelForm):
    """Fields and input checks come from the model; the service validates the model and
    saves, so the form leaves the instance untouched (the service compares before/after)."""

    def _post_clean(self) -> None:
        pass

    def service_fields(self, names: list[str]) -> dict:
        fields = {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}
        if "custom_fields" in names and hasattr(self, "custom_field_names"):
            fields["custom_fields"] = form_values(self, self.instance.custom_fields)
        return fields


# Foreign keys are declared in __init__: building their model form fields at import time
# would query through the scoped managers, outside any tenant.
_LATER = ("owner", "organization", "custom_fields")


class OrganizationForm(ServiceModelForm):
    confirm_duplicate = forms.BooleanField(
        required=False, label="This is a different organization: create it anyway"
    )

    class Meta:
        model = Organization
        fields = [f for f in ORGANIZATION_FIELDS if f not in (*_LATER, "website")]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = member_field("Owner", required=False)
        self.initial.setdefault("owner", self.instance.owner_id)
        self.fields["website"] = forms.URLField(
            max_length=300,
            required=False,
            assume_scheme="https",
            widget=forms.URLInput(attrs={"placeholder": "https://"}),
        )
        self.initial.setdefault("website", self.instance.website)
        for name in (ChoiceList.INDUSTRY, ChoiceList.SIZE_BAND, ChoiceList.REVENUE_RANGE):
            current = getattr(self.instance, str(name), "") or ""
            self.fields[str(name)] = forms.ChoiceField(
                choices=_list_choices(name, current),
                required=False,
                label=self.fields[str(name)].label,
            )
        self.fields["domain"].help_text = "Used to spot duplicates, e.g. acme.com."
        self.order_fields(ORGANIZATION_FIELDS)
        add_form_fields(self, "organization", self.instance.custom_fields)
        if self.instance.pk:
            del self.fields["confirm_duplicate"]


class ContactForm(ServiceModelForm):
    confirm_duplicate = forms.BooleanField(
        required=False, label="This is a different person: create the contact anyway"
    )

    class Meta:
        model = Contact
        fields = [f for f in CONTACT_FIELDS if f not in _LATER]
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "off"})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = member_field("Owner", required=False)
        self.initial.setdefault("owner", self.instance.owner_id)
        self.fields["organization"] = forms.ModelChoiceField(
            queryset=Organization.objects.live().only("pk", "name").order_by(Lower("name")),
            required=False,
            empty_label="—",
            error_messages={"invalid_choice": NOT_HERE.format(what="organization")},
        )
        self.initial.setdefault("organization", self.instance.organization_id)
        self.order_fields(CONTACT_FIELDS)
        current = self.instance.lead_source or ""
        self.fields["lead_source"] = forms.ChoiceField(
            choices=_list_choices(ChoiceList.LEAD_SOURCE, current),
            required=False,
            label="Lead source",
        )
        self.fields["preferred_channel"].choices = [("", "—"), *Contact.Channel.choices]
        add_form_fields(self, "contact", self.instance.custom_fields)
        if self.instance.pk:
            del self.fields["confirm_duplicate"]


class ActivityForm(forms.Form):
    """The quick-log form: two clicks from a record page (the kind, then save)."""

    kind = forms.ChoiceField(choices=Activity.Kind.choices, widget=forms.HiddenInput)
    subject = forms.CharField(max_length=200)
    occurred_at = forms.DateTimeField(label="When", widget=DateTimeInput())
    duration_minutes = forms.IntegerField(
        label="Minutes", required=False, min_value=1, max_value=24 * 60
    )
    outcome = forms.ChoiceField(choices=[("", "—"), *Activity.Outcome.choices], required=False)
    body = forms.CharField(
        label="Notes", required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 3})
    )
    next_title = forms.CharField(
        label="Next action",
        required=False,
        max_length=200,
        help_text="Nothing is planned while this is empty.",
    )
    next_due = forms.DateTimeField(label="Due", required=False, widget=DateTimeInput())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        kind = self.data.get("kind") or self.initial.get("kind")
        self.log_kind = kind if kind in Activity.Kind.values else ""
        outcomes = Activity.OUTCOMES_BY_KIND.get(kind)
        if outcomes is None:
            del self.fields["duration_minutes"], self.fields["outcome"]
        else:
            self.fields["outcome"].choices = [("", "—"), *((o.value, o.label) for o in outcomes)]

    def activity_fields(self) -> dict:
        names = ["kind", "subject", "occurred_at", "duration_minutes", "outcome", "body"]
        return {n: self.cleaned_data[n] for n in names if n in self.cleaned_data}

    def next_action(self) -> dict | None:
        """The task to plan with the activity, or None. A next action is planned only when
        it has a title: its due date comes pre-filled, so a due date alone means nothing
        (logging with the form's defaults must just log)."""
        title = self.cleaned_data.get("next_title")
        return {"title": title, "due_at": self.cleaned_data.get("next_due")} if title else None

    @classmethod
    def unbound(cls, kind: str, *, subject: str) -> ActivityForm:
        """The form as every page offers it: now, the usual outcome for the kind, and the
        next action's due date at tomorrow 9:00 in the current time zone."""
        now = timezone.localtime()
        tomorrow = snooze_target("tomorrow", due_at=None, now=now, tz=now.tzinfo)
        return cls(
            initial={
                "kind": kind,
                "subject": subject,
                "occurred_at": now.strftime(DATETIME_FORMAT),
                "outcome": {"call": "connected", "meeting": "held"}.get(kind, ""),
                "next_due": tomorrow.strftime(DATETIME_FORMAT),
            }
        )


class ActivityEditForm(forms.ModelForm):
    class Meta:
        model = Activity
        fields = ["subject", "occurred_at", "duration_minutes", "outcome", "body"]
        widgets = {"occurred_at": DateTimeInput(), "body": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        outcomes = Activity.OUTCOMES_BY_KIND.get(self.instance.kind)
        if outcomes is None:
            del self.fields["duration_minutes"], self.fields["outcome"]
        else:
            self.fields["outcome"].choices = [("", "—"), *((o.value, o.label) for o in outcomes)]

    def _post_clean(self) -> None:
        pass


class TaskForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ["title", "due_at", "assignee", "notes"]
        widgets = {"due_at": DateTimeInput(), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = member_field("Assignee")

    def _post_clean(self) -> None:
        pass


class SnoozeForm(forms.Form):
    until = forms.ChoiceField(choices=list(SNOOZE_OPTIONS.items()))


class BulkForm(forms.Form):
    """Selected rows of a list and what to do with them."""

    ACTIONS = [("assign_owner", "Assign owner"), ("change_lifecycle", "Change lifecycle")]

    action = forms.ChoiceField(choices=ACTIONS)
    ids = forms.ModelMultipleChoiceField(
        queryset=Contact.unscoped.none(),  # the scoped queryset is set in __init__
        error_messages={
            "required": "Select at least one row.",
            "invalid_choice": "Some selected records do not exist in this workspace (any more).",
            "invalid_pk_value": "Some selected records do not exist in this workspace.",
        },
    )
    owner = forms.ModelChoiceField(queryset=None, required=False)
    lifecycle = forms.ChoiceField(required=False)

    def __init__(self, *args, model: type[Contact] | type[Organization], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ids"].queryset = model.objects.live()
        self.fields["owner"] = member_field("New owner", required=False)
        self.fields["lifecycle"].choices = [("", "—"), *model.Lifecycle.choices]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("action") == "assign_owner" and not data.get("owner"):
            self.add_error("owner", "Choose the new owner.")
        if data.get("action") == "change_lifecycle" and not data.get("lifecycle"):
            self.add_error("lifecycle", "Choose the new lifecycle stage.")
        if len(data.get("ids") or []) > 200:
            self.add_error("ids", "Change at most 200 records at a time.")
        return data


class MergeForm(forms.Form):
    KEEP = [("this", "Keep this record"), ("other", "Keep the other record")]

    other = forms.ModelChoiceField(
        queryset=None, error_messages={"invalid_choice": NOT_HERE.format(what="record")}
    )
    keep = forms.ChoiceField(choices=KEEP, initial="this", widget=forms.RadioSelect)

    def __init__(self, *args, record: Contact | Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["other"].queryset = type(record).objects.live().exclude(pk=record.pk)


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=60)
    query = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)
    list_name = forms.ChoiceField(choices=SavedView.ListName.choices, widget=forms.HiddenInput)
