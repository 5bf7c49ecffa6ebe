"""Consent per purpose: append-only rows, the latest per purpose is what holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contacts.models import Contact
from contacts.services.common import require_same_tenant
from crm.audit import record_event
from crm.models import User
from crm.tenancy import current_tenant
from governance.models import Consent


def record_consent(
    contact: Contact,
    *,
    by: User,
    purpose: str,
    status: str,
    source: str,
    given_at: datetime | None = None,
    note: str = "",
) -> Consent:
    """Record a contact's answer for one purpose (a new row: the history stays).

    Refuses an unknown purpose, status or source, a date in the future, and an erased
    or merged contact.
    """
    require_same_tenant(contact, field="contact")
    errors = {}
    if purpose not in Consent.Purpose.values:
        errors["purpose"] = "Choose what the consent is for."
    if status not in Consent.Status.values:
        errors["status"] = "Choose granted, refused or withdrawn."
    if source not in Consent.Source.values:
        errors["source"] = "Choose how you got the answer."
    given_at = given_at or timezone.now()
    if given_at > timezone.now() + timedelta(minutes=5):
        errors["given_at"] = "The date is in the future."
    if errors:
        raise ValidationError(errors)
    previous = (
        Consent.objects.filter(contact=contact, purpose=purpose)
        .order_by("-given_at", "-id")
        .first()
    )
    with transaction.atomic():
        consent = Consent.objects.create(
            tenant=current_tenant(),
            contact=contact,
            purpose=purpose,
            status=status,
            source=source,
            given_at=given_at,
            note=note.strip()[:300],
            recorded_by=by,
        )
        record_event(
            actor=by,
            verb="consent.recorded",
            target=contact,
            changes={
                f"consent:{purpose}": [previous.status if previous else None, status],
                "source": [None, source],
                "given_at": [None, given_at.isoformat()],
            },
        )
    return consent


def current_consents(contact: Contact) -> list[dict[str, Any]]:
    """Per purpose, the latest answer (or none), with its history count; one query."""
    rows = list(
        Consent.objects.filter(contact=contact)
        .select_related("recorded_by")
        .order_by("-given_at", "-id")
    )
    latest: dict[str, Consent] = {}
    counts: dict[str, int] = {}
    for row in rows:
        latest.setdefault(row.purpose, row)
        counts[row.purpose] = counts.get(row.purpose, 0) + 1
    return [
        {
            "purpose": value,
            "label": label,
            "consent": latest.get(value),
            "count": counts.get(value, 0),
        }
        for value, label in Consent.Purpose.choices
    ]
