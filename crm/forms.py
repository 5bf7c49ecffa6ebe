from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm

from crm.models import Role


class KeelLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class KeelPasswordResetForm(PasswordResetForm):
    pass


class KeelSetPasswordForm(SetPasswordForm):
    pass


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.REP)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


TIME_ZONES = sorted(zoneinfo.available_timezones())


class TenantSettingsForm(forms.Form):
    """A plain form: the service compares old and new values, so the tenant stays untouched."""

    name = forms.CharField(max_length=120)
    time_zone = forms.ChoiceField(choices=[(z, z.replace("_", " ")) for z in TIME_ZONES])
    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        error_messages={"invalid": "Use a 3-letter ISO code such as EUR."},
    )
