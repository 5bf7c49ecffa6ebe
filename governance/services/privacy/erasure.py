"""Erasure of a contact: anonymised, not deleted (see the package's docstring)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Activity, Contact, Task
from contacts.services.common import require_same_tenant
from crm.audit import record_event
from crm.models import AuditEvent, Notification, OutboxEvent, User
from crm.tenancy import current_tenant
from governance.models import ErasureRequest, ImportRowError
from mail.services.privacy import erase_mail
from pipeline.models import Deal, DealActivity, DealContact, DealTask

ERASED = "[erased]"
PERSONAL_FIELDS = ["first_name", "last_name", "email", "phone", "job_title", "custom_fields"]


def _terms(contact: Contact) -> list[str]:
    """How the person may be mentioned in free text elsewhere (longest first)."""
    first, last = contact.first_name.strip(), contact.last_name.strip()
    terms = {
        f"{first} {last}".strip(),
        f"{last}, {first}" if first and last else "",
        contact.email.strip(),
        contact.phone.strip(),
    }
    return sorted((t for t in terms if len(t) >= 4), key=len, reverse=True)


def scrub(text: str, terms: list[str]) -> str:
    """`text` with every mention of `terms` (any case) replaced by [erased]."""
    if not text or not terms:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    return pattern.sub(ERASED, text)


def _scrub_json(value: Any, terms: list[str]) -> Any:
    if isinstance(value, str):
        return scrub(value, terms)
    if isinstance(value, list):
        return [_scrub_json(v, terms) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_json(v, terms) for k, v in value.items()}
    return value


def _redact_change(name: str, change: Any, terms: list[str]) -> Any:
    if name in PERSONAL_FIELDS and isinstance(change, list):
        return [ERASED if v not in (None, "", {}, []) else v for v in change]
    return _scrub_json(change, terms)


def _redact_payload(payload: dict[str, Any], terms: list[str]) -> dict[str, Any]:
    """A webhook payload about the person: its personal fields blanked, mentions scrubbed."""
    redacted = _scrub_json(payload, terms)
    snapshot = redacted.get("object")
    if isinstance(snapshot, dict):
        for name in PERSONAL_FIELDS:
            if snapshot.get(name) not in (None, "", {}, []):
                snapshot[name] = {} if name == "custom_fields" else ERASED
    changes = redacted.get("changes")
    if isinstance(changes, dict):
        redacted["changes"] = {n: _redact_change(n, c, terms) for n, c in changes.items()}
    return redacted


def _allow_audit_redaction(on: bool) -> None:
    # The audit table refuses changes (crm migration 0005) unless an erasure says so.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('app.audit_redaction', %s, true)", ["on" if on else ""]
            )


def _erase_record(contact: Contact, *, by: User | None, now: datetime) -> None:
    contact.first_name = "Erased"
    contact.last_name = f"contact #{contact.pk}"
    contact.email = contact.phone = contact.job_title = ""
    contact.preferred_channel = ""
    contact.custom_fields = {}
    contact.erased_at = now
    contact.updated_at, contact.updated_by = now, by
    contact.save(
        update_fields=[
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "preferred_channel",
            "custom_fields",
            "erased_at",
            "updated_at",
            "updated_by",
        ]  # fmt: skip
    )


def _scrub_rows(queryset, fields: list[str], terms: list[str]) -> int:
    changed = 0
    for row in queryset:
        updates = {}
        for name in fields:
            value = getattr(row, name)
            new = _scrub_json(value, terms)
            if new != value:
                setattr(row, name, new)
                updates[name] = new
        if updates:
            row.save(update_fields=list(updates))
            changed += 1
    return changed


def erase_contact(
    contact: Contact,
    *,
    by: User | None,
    reason: str = "",
    origin: str = ErasureRequest.Origin.REQUEST,
) -> ErasureRequest:
    """Anonymise the person in one transaction and record the request and its completion.

    Refuses a contact of another tenant and one already erased. The rows stay (counts and
    aggregates are unchanged); see the module docstring for what is anonymised.
    """
    require_same_tenant(contact, field="contact")
    if contact.erased_at is not None:
        raise ValidationError("This contact has already been erased.")
    now = timezone.now()
    with transaction.atomic():
        request = ErasureRequest.objects.create(
            tenant=current_tenant(),
            contact=contact,
            subject=f"Contact #{contact.pk}",
            origin=origin,
            reason=reason.strip()[:500],
            requested_by=by,
            requested_at=now,
        )
        record_event(
            actor=by,
            verb="erasure.requested",
            target=request,
            changes={"contact": [None, contact.pk], "reason": [None, request.reason]},
        )
        people = [contact, *Contact.objects.filter(merged_into=contact, erased_at__isnull=True)]
        ids = [c.pk for c in people]
        terms = sorted({t for c in people for t in _terms(c)}, key=len, reverse=True)
        summary = {"contacts": len(people)}
        summary.update(erase_mail(ids, addresses={c.email for c in people}))
        for person in people:
            _erase_record(person, by=by, now=now)
        own_activities = Activity.objects.filter(contact_id__in=ids)
        summary["activities"] = 0
        for activity in own_activities:
            activity.subject = f"{activity.get_kind_display()} ({ERASED})"
            activity.body = ""
            activity.updated_at = now
            activity.save(update_fields=["subject", "body", "updated_at"])
            summary["activities"] += 1
        summary["tasks"] = Task.objects.filter(contact_id__in=ids).update(
            title=f"Task ({ERASED})", notes="", updated_at=now
        )
        deal_ids = set(Deal.objects.filter(primary_contact_id__in=ids).values_list("pk", flat=True))
        deal_ids |= set(
            DealContact.objects.filter(contact_id__in=ids).values_list("deal_id", flat=True)
        )
        org_ids = {c.organization_id for c in people if c.organization_id}
        # Mentions in the records around the person: their organization's and deals' notes.
        nearby_activities = Activity.objects.filter(
            Q(organization_id__in=org_ids)
            | Q(pk__in=DealActivity.objects.filter(deal_id__in=deal_ids).values("activity_id"))
        ).exclude(contact_id__in=ids)
        nearby_tasks = Task.objects.filter(
            Q(organization_id__in=org_ids)
            | Q(pk__in=DealTask.objects.filter(deal_id__in=deal_ids).values("task_id"))
        ).exclude(contact_id__in=ids)
        summary["mentions"] = (
            _scrub_rows(nearby_activities, ["subject", "body"], terms)
            + _scrub_rows(nearby_tasks, ["title", "notes"], terms)
            + _scrub_rows(
                Deal.objects.filter(pk__in=deal_ids),
                ["name", "authority", "need", "timeline", "lost_note", "custom_fields"],
                terms,
            )
        )
        mentioned = Q(pk__in=[])
        for term in terms:
            mentioned |= Q(title__icontains=term) | Q(body__icontains=term)
        summary["notifications"] = _scrub_rows(
            Notification.objects.filter(mentioned), ["title", "body"], terms
        )
        summary["webhook_payloads"] = 0
        for event in OutboxEvent.objects.filter(target_type="contacts.contact", target_id__in=ids):
            event.payload = _redact_payload(event.payload, terms)
            event.save(update_fields=["payload"])
            summary["webhook_payloads"] += 1
        in_values = Q(pk__in=[])
        for term in terms:
            in_values |= Q(values__icontains=term)
        # A refused import row that names the person is theirs: all of its cells go.
        summary["import_rows"] = 0
        for row in ImportRowError.objects.filter(in_values):
            row.values = [ERASED if cell else cell for cell in row.values]
            row.message = scrub(row.message, terms)
            row.save(update_fields=["values", "message"])
            summary["import_rows"] += 1
        summary["audit_entries"] = _redact_audit(ids, deal_ids, terms)
        request.status = ErasureRequest.Status.COMPLETED
        request.completed_at, request.completed_by = timezone.now(), by
        request.summary = summary
        request.save(update_fields=["status", "completed_at", "completed_by", "summary"])
        record_event(
            actor=by, verb="contact.erased", target=contact, changes={"erased": [None, True]}
        )
        record_event(
            actor=by,
            verb="erasure.completed",
            target=request,
            changes={"summary": [None, summary]},
        )
    return request


def _redact_audit(contact_ids: list[int], deal_ids: set[int], terms: list[str]) -> int:
    entries = AuditEvent.objects.filter(
        Q(target_type="contacts.contact", target_id__in=contact_ids)
        | Q(target_type="pipeline.deal", target_id__in=deal_ids)
    )
    _allow_audit_redaction(True)
    changed = 0
    try:
        for entry in entries:
            personal = entry.target_type == "contacts.contact"
            changes = {
                name: (
                    _redact_change(name, change, terms) if personal else _scrub_json(change, terms)
                )
                for name, change in entry.changes.items()
            }
            target_repr = (
                f"Erased contact #{entry.target_id}"
                if personal
                else scrub(entry.target_repr, terms)
            )
            if changes != entry.changes or target_repr != entry.target_repr:
                AuditEvent.objects.filter(pk=entry.pk).update(
                    changes=changes, target_repr=target_repr
                )
                changed += 1
    finally:
        _allow_audit_redaction(False)
    return changed  # fmt: skip
