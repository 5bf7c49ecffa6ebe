"""The revenue target form: a month, a quarter, a year, or any range of days."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms

from crm.models import Membership, User
from reporting.periods import add_months


class TargetForm(forms.Form):
    PERIODS = [
        ("month", "A month"),
        ("quarter", "A quarter"),
        ("year", "A year"),
        ("custom", "Other dates"),
    ]

    owner = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="The whole team",
        label="Whose target",
    )
    period = forms.ChoiceField(choices=PERIODS, initial="month", label="Period")
    start = forms.DateField(
        label="First day",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="A month, quarter or year starts on this day's month.",
    )
    end = forms.DateField(
        label="Last day",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Only for other dates.",
    )
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2, label="Amount")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(
            pk__in=Membership.objects.filter(is_active=True).values("user_id")
        ).order_by("full_name", "email")

    def clean(self) -> dict:
        data = super().clean()
        start: date | None = data.get("start")
        if start is None:
            return data
        kind = data.get("period")
        if kind == "custom":
            last = data.get("end")
            if last is None:
                self.add_error("end", "Give the last day.")
                return data
            data["range"] = (start, last + timedelta(days=1))
        else:
            first = start.replace(day=1)
            if kind == "quarter":
                first = date(start.year, (start.month - 1) // 3 * 3 + 1, 1)
            if kind == "year":
                first = date(start.year, 1, 1)
            months = {"month": 1, "quarter": 3, "year": 12}[kind]
            data["range"] = (first, add_months(first, months))
        return data

    def service_kwargs(self) -> dict:
        start, end = self.cleaned_data["range"]
        return {
            "owner": self.cleaned_data.get("owner"),
            "start": start,
            "end": end,
            "amount": self.cleaned_data["amount"],
        }
