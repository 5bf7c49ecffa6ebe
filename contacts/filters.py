"""List filters (django-filter) and sorting for the contact and organization lists.

Apps to the right of contacts add a filter to a list from their AppConfig.ready()
(contacts cannot import them): `register_list_filter("organizations", "quadrant", make)`,
where `make()` returns a new django-filter `Filter` (with a callable `method`); it then
shows in the list's filter bar and narrows the list like the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable

import django_filters
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from contacts.choices import choice_options
from contacts.models import ChoiceList, Contact, Organization
from contacts.selectors import member_users
from crm.custom_fields.filters import add_filters

NEXT_ACTION = [("yes", "With a next action"), ("no", "Without a next action")]
_extra_filters: dict[str, dict[str, Callable[[], django_filters.Filter]]] = {}


def register_list_filter(
    list_name: str, name: str, factory: Callable[[], django_filters.Filter]
) -> None:
    """Add the filter `factory()` as `name` to the list `list_name` ("contacts", "organizations")."""
    _extra_filters.setdefault(list_name, {})[name] = factory


def _owner_choices(user_id: int) -> list[tuple[str, str]]:
    people = [(str(u.pk), str(u)) for u in member_users(active_only=False)]
    return [("me", "Me"), ("none", "Nobody"), *[p for p in people if p[0] != str(user_id)]]


class RecordFilter(django_filters.FilterSet):
    """What both lists share. `request.user` gives "me" its meaning."""

    q = django_filters.CharFilter(method="filter_q", label="Search")
    owner = django_filters.ChoiceFilter(method="filter_owner", label="Owner", empty_label="Anyone")
    open_task = django_filters.ChoiceFilter(
        method="filter_open_task",
        label="Has an open task",
        choices=NEXT_ACTION,
        empty_label="Any next action",
    )
    created = django_filters.DateFromToRangeFilter(
        field_name="created_at",
        label="Created between",
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    sort = django_filters.ChoiceFilter(method="filter_sort", label="Sort by", empty_label=None)

    SORTS: dict[str, tuple[str, tuple]] = {}
    SEARCH_FIELDS: list[str] = []
    LIST_NAME = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, factory in _extra_filters.get(self.LIST_NAME, {}).items():
            extra = self.filters[name] = factory()
            extra.model, extra.parent = self.queryset.model, self
        self.filters["owner"].extra["choices"] = _owner_choices(self.request.user.pk)
        self.filters["sort"].extra["choices"] = [(k, label) for k, (label, _) in self.SORTS.items()]
        add_filters(self, self._meta.model._meta.model_name)

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        for term in value.split()[:5]:
            any_field = Q()
            for field in self.SEARCH_FIELDS:
                any_field |= Q(**{f"{field}__icontains": term})
            queryset = queryset.filter(any_field)
        return queryset

    def filter_owner(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "me":
            return queryset.filter(owner=self.request.user)
        if value == "none":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=value)

    def filter_open_task(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(has_open_task=value == "yes")

    def filter_sort(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # applied last, in `qs`, so that it also applies without the parameter

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        sort = self.form.cleaned_data.get("sort") if self.form.is_valid() else None
        _, ordering = self.SORTS.get(sort or "", self.SORTS[next(iter(self.SORTS))])
        return queryset.order_by(*ordering)

    @property
    def current_sort(self) -> str:
        if self.form.is_valid() and self.form.cleaned_data.get("sort"):
            return self.form.cleaned_data["sort"]
        return next(iter(self.SORTS))


class ContactFilter(RecordFilter):
    lifecycle = django_filters.ChoiceFilter(
        choices=Contact.Lifecycle.choices, label="Lifecycle", empty_label="Any stage"
    )
    lead_source = django_filters.ChoiceFilter(label="Source", empty_label="Any source")
    industry = django_filters.ChoiceFilter(
        field_name="organization__industry", label="Industry", empty_label="Any industry"
    )

    SEARCH_FIELDS = ["first_name", "last_name", "email", "organization__name"]
    LIST_NAME = "contacts"
    SORTS = {
        "name": ("Name", (Lower("last_name"), Lower("first_name"), "pk")),
        "-created": ("Newest", ("-created_at", "-pk")),
        "created": ("Oldest", ("created_at", "pk")),
        "-updated": ("Recently updated", ("-updated_at", "-pk")),
        "organization": ("Organization", (Lower("organization__name").asc(nulls_last=True), "pk")),
        "lifecycle": ("Lifecycle", ("lifecycle", "pk")),
    }

    class Meta:
        model = Contact
        fields = ["q", "owner", "lifecycle", "lead_source", "industry", "open_task", "created"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["lead_source"].extra["choices"] = choice_options(ChoiceList.LEAD_SOURCE)
        self.filters["industry"].extra["choices"] = choice_options(ChoiceList.INDUSTRY)


class OrganizationFilter(RecordFilter):
    lifecycle = django_filters.ChoiceFilter(
        choices=Organization.Lifecycle.choices, label="Lifecycle", empty_label="Any stage"
    )
    industry = django_filters.ChoiceFilter(label="Industry", empty_label="Any industry")
    size_band = django_filters.ChoiceFilter(label="Size", empty_label="Any size")

    SEARCH_FIELDS = ["name", "domain", "city"]
    LIST_NAME = "organizations"
    SORTS = {
        "name": ("Name", (Lower("name"), "pk")),
        "-created": ("Newest", ("-created_at", "-pk")),
        "created": ("Oldest", ("created_at", "pk")),
        "-updated": ("Recently updated", ("-updated_at", "-pk")),
        "-contacts": ("Most contacts", ("-contact_count", Lower("name"), "pk")),
        "lifecycle": ("Lifecycle", ("lifecycle", Lower("name"), "pk")),
    }

    class Meta:
        model = Organization
        fields = ["q", "owner", "lifecycle", "industry", "size_band", "open_task", "created"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["industry"].extra["choices"] = choice_options(ChoiceList.INDUSTRY)
        self.filters["size_band"].extra["choices"] = choice_options(ChoiceList.SIZE_BAND)
