"""Query-string filters of the list endpoints (django-filter).

Related records are filtered by id (`?organization=12`); another workspace's id simply
matches nothing. Times are ISO 8601 (`?updated_since=2026-01-31T00:00:00Z`), which is
how an integration syncs: page through everything changed since its last run.
"""

from __future__ import annotations

from datetime import UTC

import django_filters as df
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from api.serializers import TASK_STATUSES
from contacts.models import Activity, Contact, Organization, Task
from pipeline.models import Deal, DealActivity, DealTask, Stage


class IdFilter(df.NumberFilter):
    """A record's id: a whole number within a bigint (anything else is invalid input)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class InstantFilter(df.IsoDateTimeFilter):
    """An ISO 8601 instant, compared in UTC: PostgreSQL refuses offsets beyond ±15:59,
    which Python accepts (e.g. +16:23)."""

    def filter(self, qs: QuerySet, value):
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:  # beyond year 9999 once in UTC: matches nothing
                return qs.none()
        return super().filter(qs, value)


class RecordFilter(df.FilterSet):
    owner = IdFilter(field_name="owner_id", help_text="Owner's user id.")
    created_since = InstantFilter(field_name="created_at", lookup_expr="gte")
    updated_since = InstantFilter(field_name="updated_at", lookup_expr="gte")


class OrganizationFilter(RecordFilter):
    q = df.CharFilter(field_name="name", lookup_expr="icontains", help_text="Part of the name.")
    domain = df.CharFilter(lookup_expr="iexact")
    lifecycle = df.ChoiceFilter(choices=Organization.Lifecycle.choices)

    class Meta:
        model = Organization
        fields: list[str] = []


class ContactFilter(RecordFilter):
    q = df.CharFilter(method="search", help_text="Part of the name or e-mail address.")
    email = df.CharFilter(lookup_expr="iexact")
    organization = IdFilter(field_name="organization_id")
    lifecycle = df.ChoiceFilter(choices=Contact.Lifecycle.choices)

    class Meta:
        model = Contact
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        words = value.split()
        for word in words[:5]:
            queryset = queryset.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
            )
        return queryset


class DealFilter(RecordFilter):
    pipeline = IdFilter(field_name="pipeline_id")
    stage = IdFilter(field_name="stage_id")
    organization = IdFilter(field_name="organization_id")
    primary_contact = IdFilter(field_name="primary_contact_id")
    closed_since = InstantFilter(field_name="closed_at", lookup_expr="gte")
    status = df.ChoiceFilter(choices=Deal.Status.choices)

    class Meta:
        model = Deal
        fields: list[str] = []


class ActivityFilter(df.FilterSet):
    contact = IdFilter(field_name="contact_id")
    organization = IdFilter(field_name="organization_id")
    deal = IdFilter(method="on_deal")
    logged_by = IdFilter(field_name="logged_by_id")
    occurred_since = InstantFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = InstantFilter(field_name="occurred_at", lookup_expr="lt")
    kind = df.ChoiceFilter(choices=Activity.Kind.choices)

    class Meta:
        model = Activity
        fields: list[str] = []

    def on_deal(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        return queryset.filter(
            Exists(DealActivity.objects.filter(activity=OuterRef("pk"), deal_id=value))
        )


class TaskFilter(df.FilterSet):
    assignee = IdFilter(field_name="assignee_id")
    contact = IdFilter(field_name="contact_id")
    organization = IdFilter(field_name="organization_id")
    deal = IdFilter(method="on_deal")
    status = df.ChoiceFilter(
        choices=[(s, s.capitalize()) for s in TASK_STATUSES], method="with_status"
    )
    due_since = InstantFilter(field_name="due_at", lookup_expr="gte")
    due_before = InstantFilter(field_name="due_at", lookup_expr="lt")
    updated_since = InstantFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Task
        fields: list[str] = []

    def on_deal(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        return queryset.filter(Exists(DealTask.objects.filter(task=OuterRef("pk"), deal_id=value)))

    def with_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        open_ = Q(done_at__isnull=True, cancelled_at__isnull=True)
        if value == "done":
            return queryset.filter(done_at__isnull=False)
        if value == "cancelled":
            return queryset.filter(cancelled_at__isnull=False)
        if value == "overdue":
            return queryset.filter(open_, due_at__lt=timezone.now())
        return queryset.filter(open_)


class StageFilter(df.FilterSet):
    pipeline = IdFilter(field_name="pipeline_id")
    kind = df.ChoiceFilter(choices=Stage.Kind.choices)

    class Meta:
        model = Stage
        fields: list[str] = []
