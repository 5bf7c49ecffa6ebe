"""The compose form and the template form. Addresses and merge fields are checked by the
services (mail.services.sending, mail.services.templates), whose messages land beside
the fields."""

from __future__ import annotations

from django import forms

from mail.models.workspace import TEMPLATE_BODY_MAX
from mail.services.sending import BODY_MAX, SUBJECT_MAX

ADDRESSES_MAX = 10_000


class ComposeForm(forms.Form):
    to = forms.CharField(
        label="To",
        max_length=ADDRESSES_MAX,
        error_messages={"required": "Add at least one recipient."},
        help_text="Separate addresses with commas.",
    )
    cc = forms.CharField(label="Cc", max_length=ADDRESSES_MAX, required=False)
    subject = forms.CharField(
        max_length=SUBJECT_MAX, error_messages={"required": "Give the e-mail a subject."}
    )
    body = forms.CharField(
        label="Message",
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 14}),
        error_messages={"required": "Write the e-mail."},
    )


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="How the team finds it on the compose page.")
    subject = forms.CharField(max_length=300)
    body = forms.CharField(
        label="Message", max_length=TEMPLATE_BODY_MAX, widget=forms.Textarea(attrs={"rows": 14})
    )
