"""The deal list's filters (django-filter) and sorting."""

from __future__ import annotations

import django_filters
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.selectors import member_choices
from crm.custom_fields.filters import add_filters
from pipeline.models import Deal, Pipeline, Stage
from pipeline.selectors.common import rotting_days, stale_q
from pipeline.selectors.forecast import close_month_q


class DealFilter(django_filters.FilterSet):
    """`request.user` gives "me" its meaning; `close_month` is a forecast bucket key."""

    q = django_filters.CharFilter(method="filter_q", label="Search")
    # Callables: the querysets are scoped to the tenant of the request.
    pipeline = django_filters.ModelChoiceFilter(
        queryset=lambda request: Pipeline.objects.all(),
        label="Pipeline",
        empty_label="Any pipeline",
    )
    stage = django_filters.ModelChoiceFilter(
        queryset=lambda request: Stage.objects.active().select_related("pipeline"),
        label="Stage",
        empty_label="Any stage",
    )
    # Open deals unless asked otherwise (the view fills in "open" when absent).
    status = django_filters.ChoiceFilter(
        method="filter_status",
        choices=[*Deal.Status.choices, ("all", "Open and closed")],
        label="Status",
        empty_label=None,
    )
    owner = django_filters.ChoiceFilter(method="filter_owner", label="Owner", empty_label="Anyone")
    organization = django_filters.NumberFilter(field_name="organization_id")
    close_month = django_filters.CharFilter(method="filter_close_month")
    months = django_filters.NumberFilter(method="filter_nothing")
    stale = django_filters.ChoiceFilter(
        method="filter_stale",
        label="Freshness",
        choices=[("true", "Stale only")],
        empty_label="Stale or not",
    )
    revenue = django_filters.BooleanFilter(method="filter_revenue")
    sort = django_filters.ChoiceFilter(method="filter_nothing", label="Sort by", empty_label=None)

    SORTS = {
        "close": ("Expected close", (F("expected_close").asc(nulls_last=True), "pk")),
        "-amount": ("Largest", (F("amount").desc(nulls_last=True), "pk")),
        "name": ("Name", (Lower("name"), "pk")),
        "-created": ("Newest", ("-created_at", "-pk")),
        "stage": ("Stage", ("pipeline__position", "stage__position", "pk")),
        "dwell": ("Longest in stage", ("stage_entered_at", "pk")),
    }

    class Meta:
        model = Deal
        fields = ["q", "pipeline", "stage", "status", "owner", "organization", "stale"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        people = [(str(pk), name) for pk, name in member_choices(active_only=False)]
        me = str(self.request.user.pk)
        self.filters["owner"].extra["choices"] = [
            ("me", "Me"),
            ("none", "Nobody"),
            *[p for p in people if p[0] != me],
        ]
        self.filters["sort"].extra["choices"] = [(k, label) for k, (label, _) in self.SORTS.items()]
        add_filters(self, "deal")

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        for term in value.split()[:5]:
            queryset = queryset.filter(
                Q(name__icontains=term) | Q(organization__name__icontains=term)
            )
        return queryset

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset if value == "all" else queryset.filter(status=value)

    def filter_owner(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "me":
            return queryset.filter(owner=self.request.user)
        if value == "none":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=value)

    def filter_close_month(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        months = self.form.cleaned_data.get("months") or 6
        today = timezone.localdate()
        return queryset.filter(close_month_q(value, today=today, months=int(months)))

    def filter_stale(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value != "true":
            return queryset
        stale = stale_q(now=timezone.now(), rotting=rotting_days())
        return queryset.filter(status=Deal.Status.OPEN).filter(stale)

    def filter_revenue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(pipeline__kind__in=Pipeline.REVENUE_KINDS)

    def filter_nothing(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset  # sort and months apply in `qs` and filter_close_month

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        return queryset.order_by(*self.SORTS[self.current_sort][1])

    @property
    def current_sort(self) -> str:
        if self.form.is_valid() and self.form.cleaned_data.get("sort"):
            return self.form.cleaned_data["sort"]
        return next(iter(self.SORTS))
