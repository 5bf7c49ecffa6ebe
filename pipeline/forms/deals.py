"""Forms of the deal pages: a deal, a move with the criteria it asks for, the board's filter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models.functions import Lower

from contacts.forms import NOT_HERE, ServiceModelForm, _list_choices, member_field
from contacts.models import ChoiceList, Contact, Organization
from contacts.selectors import member_choices
from crm import custom_fields
from crm.custom_fields.forms import add_form_fields, form_field, form_values
from pipeline.criteria import MONEY_FIELDS, input_label
from pipeline.criterion_text import CUSTOM_PREFIX, field_label
from pipeline.models import Deal, LostReason, Stage


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


MONEY_WIDGET = forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"})
_DEAL_OWN_FIELDS = [
    "name", "amount", "expected_close", "budget", "authority", "need", "timeline",
    "contract_start", "contract_end",
]  # fmt: skip
FORM_ORDER = [
    "name", "stage", "organization", "primary_contact", "other_contacts", "owner", "amount",
    "expected_close", "source", "budget", "authority", "need", "timeline",
    "contract_start", "contract_end",
]  # fmt: skip


def organization_field(required: bool = False) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Organization.objects.live().only("pk", "name").order_by(Lower("name")),
        required=required,
        empty_label="—",
        error_messages={"invalid_choice": NOT_HERE.format(what="organization")},
    )


def contact_field(organization_id: int | None = None, **kwargs: Any) -> forms.ModelChoiceField:
    """Live contacts; those of the deal's organization first when it has any."""
    contacts = Contact.objects.live().select_related("organization")
    if organization_id and contacts.filter(organization_id=organization_id).exists():
        contacts = contacts.filter(organization_id=organization_id)
    return forms.ModelChoiceField(
        queryset=contacts.order_by(Lower("last_name"), Lower("first_name")),
        empty_label="—",
        error_messages={"invalid_choice": NOT_HERE.format(what="contact")},
        **kwargs,
    )


def stage_choices(stages: list[Stage], *, grouped: bool) -> list:
    if not grouped:
        return [(s.pk, s.name) for s in stages]
    groups: dict[str, list] = {}
    for s in stages:
        groups.setdefault(s.pipeline.name, []).append((s.pk, s.name))
    return list(groups.items())


class DealForm(ServiceModelForm):
    """Create or edit a deal. The stage is chosen at creation only; later it moves."""

    class Meta:
        model = Deal
        fields = _DEAL_OWN_FIELDS
        widgets = {
            "expected_close": DateInput(),
            "contract_start": DateInput(),
            "contract_end": DateInput(),
            "amount": MONEY_WIDGET,
            "budget": MONEY_WIDGET,
            "need": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, currency: str = "EUR", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        deal = self.instance
        self.fields["organization"] = organization_field()
        self.initial.setdefault("organization", deal.organization_id)
        self.fields["primary_contact"] = contact_field(deal.organization_id, required=False)
        self.fields["primary_contact"].label = "Primary contact"
        self.initial.setdefault("primary_contact", deal.primary_contact_id)
        self.fields["other_contacts"] = forms.ModelMultipleChoiceField(
            queryset=Contact.objects.live().order_by(Lower("last_name"), Lower("first_name")),
            required=False,
            label="Other contacts",
            widget=forms.SelectMultiple(attrs={"size": 4}),
            error_messages={"invalid_choice": NOT_HERE.format(what="contact")},
        )
        self.fields["owner"] = member_field("Owner")
        if deal.pk:
            self.initial.setdefault("owner", deal.owner_id)
            self.initial.setdefault(
                "other_contacts", list(deal.contacts.values_list("pk", flat=True))
            )
        self.fields["source"] = forms.ChoiceField(
            choices=_list_choices(ChoiceList.LEAD_SOURCE, deal.source or ""),
            required=False,
            label="Source",
        )
        self.initial.setdefault("source", deal.source)
        for name in MONEY_FIELDS:
            self.fields[name].label = input_label(name, currency=currency)
        if not deal.pk:
            stages = list(
                Stage.objects.active()
                .filter(kind=Stage.Kind.OPEN)
                .select_related("pipeline")
                .order_by("pipeline__position", "pipeline_id", "position")
            )
            self.stages = {s.pk: s for s in stages}
            grouped = len({s.pipeline_id for s in stages}) > 1
            self.fields["stage"] = forms.TypedChoiceField(
                choices=stage_choices(stages, grouped=grouped), coerce=int, label="Stage"
            )
        self.order_fields(FORM_ORDER)
        add_form_fields(self, "deal", deal.custom_fields)

    def clean_stage(self) -> Stage:
        return self.stages[self.cleaned_data["stage"]]

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("organization") and not data.get("primary_contact"):
            self.add_error("organization", "Link the deal to an organization or a primary contact.")
        return data

    def deal_fields(self) -> dict[str, Any]:
        names = [*_DEAL_OWN_FIELDS, "organization", "primary_contact", "owner", "source"]
        fields = {n: self.cleaned_data[n] for n in names if n in self.cleaned_data}
        fields["custom_fields"] = form_values(self, self.instance.custom_fields)
        return fields


def criterion_form_field(name: str, deal: Deal, *, currency: str) -> forms.Field:
    """The input for one field a stage criterion asks for, as the move dialog shows it."""
    label = field_label(name)
    if name.startswith(CUSTOM_PREFIX):
        defn = custom_fields.definition("deal", name[len(CUSTOM_PREFIX) :])
        if defn is not None:
            current = (deal.custom_fields or {}).get(defn.key)
            return form_field(defn, current=current, required=False)
    if name in MONEY_FIELDS:
        return forms.DecimalField(
            label=input_label(name, currency=currency),
            required=False,
            min_value=0,
            max_digits=14,
            decimal_places=2,
            widget=MONEY_WIDGET,
        )
    if name in ("expected_close", "contract_start", "contract_end"):
        return forms.DateField(label=label, required=False, widget=DateInput())
    if name == "organization":
        field = organization_field()
        field.label = label
        return field
    if name == "primary_contact":
        return contact_field(deal.organization_id, required=False, label=label)
    if name == "source":
        return forms.ChoiceField(
            label=label, required=False, choices=_list_choices(ChoiceList.LEAD_SOURCE, deal.source)
        )
    if name == "need":
        return forms.CharField(
            label=label, required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
        )
    model_field = Deal._meta.get_field(name) if name in Deal.CRITERION_FIELDS else None
    help_text = getattr(model_field, "help_text", "")
    return forms.CharField(label=label, required=False, max_length=200, help_text=help_text)


def html_name(field_name: str) -> str:
    """custom:po_number → custom__po_number (a name a form can carry)."""
    return field_name.replace(CUSTOM_PREFIX, "custom__", 1)


class MoveForm(forms.Form):
    """A move: the target stage, the version the person saw, and whatever they typed in for
    the criteria (only the fields listed in `criteria_fields` are read)."""

    to_stage = forms.TypedChoiceField(coerce=int, widget=forms.HiddenInput)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    override_reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Reason for moving anyway",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded with the move, for the team and the audit trail.",
    )

    def __init__(
        self,
        *args,
        deal: Deal,
        stages: list[Stage],
        criteria_fields: list[str] = (),
        currency: str = "EUR",
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.deal = deal
        self.stages = {s.pk: s for s in stages}
        self.fields["to_stage"].choices = [(s.pk, s.name) for s in stages]
        self.criteria_fields: list[str] = []
        self.optional_fields: list[str] = []
        for name in criteria_fields:
            if name == "lost_reason":
                continue
            self.fields[html_name(name)] = criterion_form_field(name, deal, currency=currency)
            self.criteria_fields.append(name)

    def add_stage_fields(self, stage: Stage, currency: str) -> None:
        """Won asks for the contract dates (they drive renewals); lost for the reason."""
        if stage.is_lost:
            self.fields["lost_reason"] = forms.ModelChoiceField(
                queryset=LostReason.objects.filter(is_active=True),
                required=False,
                label="Why was it lost?",
                empty_label="Choose a reason…",
                error_messages={"invalid_choice": "Choose one of the listed reasons."},
            )
            self.fields["lost_note"] = forms.CharField(
                required=False,
                max_length=2000,
                label="Anything to add?",
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        elif stage.is_won:
            for name in ("contract_start", "contract_end"):
                if name not in self.fields:
                    self.fields[name] = criterion_form_field(name, self.deal, currency=currency)
                    self.optional_fields.append(name)
                    self.initial.setdefault(name, getattr(self.deal, name))

    def clean_to_stage(self) -> Stage:
        return self.stages[self.cleaned_data["to_stage"]]

    def typed_fields(self) -> dict[str, Any]:
        """{deal field: value} for the criteria fields the person filled in."""
        out = {}
        custom = dict(self.deal.custom_fields or {})
        for name in [*self.criteria_fields, *self.optional_fields]:
            value = self.cleaned_data.get(html_name(name))
            if value in (None, ""):
                continue
            if name.startswith(CUSTOM_PREFIX):
                custom[name[len(CUSTOM_PREFIX) :]] = value
                out["custom_fields"] = custom
            else:
                out[name] = value
        return out


class BoardFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search deals")
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Owner")
    mine = forms.BooleanField(required=False, label="Only mine")
    organization = forms.IntegerField(required=False, widget=forms.HiddenInput)
    stale = forms.BooleanField(required=False, label="Stale only")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Everyone"), *member_choices()]
