"""A member's own things: saved list views and recently touched records."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from contacts.models import Contact, Organization, RecentRecord, SavedView
from crm.audit import record_event
from crm.models import User
from crm.tenancy import current_tenant

# Parameters that describe where you are in a list, not what it shows.
_NOT_SAVED = {"page", "view", "csrfmiddlewaretoken"}


def touch_record(record: Contact | Organization, *, by: User) -> None:
    """Remember that `by` opened or changed `record` now (one upsert, no audit).

    One row per member and record, so the table never outgrows members x records.
    """
    field = "contact" if isinstance(record, Contact) else "organization"
    RecentRecord.objects.bulk_create(
        [
            RecentRecord(
                tenant=current_tenant(), user=by, touched_at=timezone.now(), **{field: record}
            )
        ],
        update_conflicts=True,
        unique_fields=["tenant", "user", field],
        update_fields=["touched_at"],
    )


def _clean_query(query: str) -> str:
    params = QueryDict(query, mutable=True)
    for key in _NOT_SAVED:
        params.pop(key, None)
    for key in [k for k, v in params.lists() if not any(v)]:
        params.pop(key)
    return params.urlencode()


def save_view(*, by: User, list_name: str, name: str, query: str) -> SavedView:
    """Save the list's current filters under a name; the same name replaces its filters."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the view a name."})
    if len(name) > 60:
        raise ValidationError({"name": "Use at most 60 characters."})
    if list_name not in SavedView.ListName.values:
        raise ValidationError({"list_name": "Unknown list."})
    query = _clean_query(query)
    if len(query) > 1000:
        raise ValidationError({"query": "These filters are too long to save."})
    with transaction.atomic():
        view, created = SavedView.objects.update_or_create(
            user=by, list_name=list_name, name=name, defaults={"query": query}
        )
        record_event(
            actor=by,
            verb="saved_view.created" if created else "saved_view.updated",
            target=view,
            changes={"query": [None, query]},
        )
    return view


def delete_view(view: SavedView, *, by: User) -> None:
    """Delete one of the member's own saved views."""
    if view.user_id != by.pk:
        raise ValidationError("You can only delete your own saved views.")
    with transaction.atomic():
        record_event(actor=by, verb="saved_view.deleted", target=view)
        view.delete()
