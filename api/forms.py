from django import forms

from api.models import ApiToken
from crm.outbox import EVENTS


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=80, help_text="What will use it, e.g. “Billing sync” or “Zapier”."
    )
    scope = forms.ChoiceField(
        choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ, widget=forms.RadioSelect
    )


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="Endpoint URL",
        max_length=500,
        assume_scheme="https",
        help_text="Keel POSTs signed JSON events here.",
    )
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENTS], widget=forms.CheckboxSelectMultiple
    )
