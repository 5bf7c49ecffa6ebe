"""GDPR: consent per purpose, the data-subject export, erasure, and the retention policy.

Erasure anonymises instead of deleting: the contact row, its activities and tasks stay,
so counts, conversion and response-time figures about the past still add up, but every
personal value is gone: names, e-mail, phone, job title and custom fields of the contact
(and of duplicates merged into it), the subjects and notes of its activities and tasks,
mentions of the person in the activities, tasks and deals around it, notifications,
pending webhook payloads, import error rows and the audit entries about it. The request
and its completion are recorded (`ErasureRequest` and the audit trail).
"""

from __future__ import annotations

import calendar
import io
import json
import re
import zipfile
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from contacts.models import Activity, Contact, Task
from contacts.services.common import require_same_tenant
from crm import custom_fields
from crm.audit import diff, record_event
from crm.models import AuditEvent, Notification, OutboxEvent, User
from crm.tenancy import current_tenant
from governance.models import Consent, ErasureRequest, ImportRowError, RetentionPolicy
from pipeline.models import Deal, DealActivity, DealContact, DealTask

ERASED = "[erased]"
PERSONAL_FIELDS = ["first_name", "last_name", "email", "phone", "job_title", "custom_fields"]
RETENTION_BATCH = 500


# Consent


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


# The data-subject export


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def subject_data(contact: Contact) -> dict[str, Any]:
    """Everything Keel holds about the person, as JSON-ready data."""
    involved = DealContact.objects.filter(contact=contact).values("deal_id")
    deals = Deal.objects.filter(Q(primary_contact=contact) | Q(pk__in=involved)).select_related(
        "stage"
    )
    return {
        "format": "Keel data-subject export, version 1",
        "exported_at": timezone.now().isoformat(),
        "workspace": current_tenant().name,
        "contact": {
            "id": contact.pk,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.email,
            "phone": contact.phone,
            "job_title": contact.job_title,
            "organization": str(contact.organization) if contact.organization_id else None,
            "lead_source": contact.lead_source,
            "lifecycle": contact.get_lifecycle_display(),
            "preferred_channel": contact.get_preferred_channel_display(),
            "owner": str(contact.owner) if contact.owner_id else None,
            "created_at": contact.created_at.isoformat(),
            "updated_at": contact.updated_at.isoformat(),
            "custom_fields": {
                row["label"]: _plain(row["value"])
                for row in custom_fields.display("contact", contact.custom_fields)
                if row["value"] not in (None, "", [])
            },
        },
        "activities": [
            {
                "kind": a.get_kind_display(),
                "subject": a.subject,
                "notes": a.body,
                "when": a.occurred_at.isoformat(),
                "outcome": a.get_outcome_display(),
                "logged_by": str(a.logged_by) if a.logged_by_id else None,
            }
            for a in Activity.objects.filter(contact=contact).select_related("logged_by")
        ],
        "tasks": [
            {
                "title": t.title,
                "notes": t.notes,
                "due": _plain(t.due_at),
                "status": t.status,
                "assignee": str(t.assignee) if t.assignee_id else None,
            }
            for t in Task.objects.filter(contact=contact).select_related("assignee")
        ],
        "deals": [
            {
                "name": d.name,
                "role": role,
                "stage": d.stage.name,
                "status": d.get_status_display(),
                "amount": _plain(d.amount),
                "currency": d.currency,
            }
            for d in deals
            for role in ["primary contact" if d.primary_contact_id == contact.pk else "involved"]
        ],
        "consents": [
            {
                "purpose": c.get_purpose_display(),
                "status": c.get_status_display(),
                "source": c.get_source_display(),
                "given_at": c.given_at.isoformat(),
                "note": c.note,
                "recorded_by": str(c.recorded_by) if c.recorded_by_id else None,
            }
            for c in Consent.objects.filter(contact=contact).select_related("recorded_by")
        ],
        "history": [
            {
                "when": e.created_at.isoformat(),
                "who": str(e.actor) if e.actor_id else None,
                "what": e.verb,
                "changes": e.changes,
            }
            for e in AuditEvent.objects.filter(
                target_type="contacts.contact", target_id=contact.pk
            ).select_related("actor")
        ],
    }


def export_subject_data(contact: Contact, *, by: User) -> bytes:
    """A zip with the person's data as JSON (and a short explanation); the export is
    recorded in the audit trail. Refuses an erased contact (nothing personal is left)."""
    if contact.erased_at is not None:
        raise ValidationError("This contact was erased; there is no personal data to export.")
    data = subject_data(contact)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"contact-{contact.pk}.json", json.dumps(data, indent=2, ensure_ascii=False)
        )
        archive.writestr(
            "README.txt",
            "Everything the workspace holds about this person, exported from Keel on "
            f"{data['exported_at'][:10]}: the contact's details, activities, tasks, deals, "
            "consents and the history of changes to the contact.\n",
        )
    record_event(
        actor=by,
        verb="contact.data_exported",
        target=contact,
        changes={"sections": [None, sorted(k for k in data if isinstance(data[k], list | dict))]},
    )
    return buffer.getvalue()


# Erasure


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


# Retention


def retention_policy() -> RetentionPolicy:
    policy = RetentionPolicy.objects.first()
    if policy is None:
        policy = RetentionPolicy(tenant=current_tenant(), lifecycles=[Contact.Lifecycle.LEAD])
    return policy


def save_retention_policy(
    *, by: User, is_enabled: bool, inactive_months: int, lifecycles: list[str]
) -> RetentionPolicy:
    """Change the policy. Refuses fewer than 6 months and unknown lifecycle stages."""
    policy = retention_policy()
    if not 6 <= inactive_months <= 120:
        raise ValidationError({"inactive_months": "Choose between 6 and 120 months."})
    unknown = set(lifecycles) - set(Contact.Lifecycle.values)
    if unknown or not lifecycles:
        raise ValidationError({"lifecycles": "Choose at least one lifecycle stage."})
    before = {
        "is_enabled": policy.is_enabled if policy.pk else None,
        "inactive_months": policy.inactive_months if policy.pk else None,
        "lifecycles": policy.lifecycles if policy.pk else None,
    }
    policy.is_enabled, policy.inactive_months = is_enabled, inactive_months
    policy.lifecycles = [v for v in Contact.Lifecycle.values if v in lifecycles]
    policy.updated_by, policy.updated_at = by, timezone.now()
    changes = diff(
        before,
        {
            "is_enabled": is_enabled,
            "inactive_months": inactive_months,
            "lifecycles": policy.lifecycles,
        },
    )
    with transaction.atomic():
        policy.save()
        if changes:
            record_event(actor=by, verb="retention.updated", target=policy, changes=changes)
    return policy


def months_before(moment: datetime, months: int) -> datetime:
    month = moment.month - months
    year = moment.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def retention_candidates(policy: RetentionPolicy, *, now: datetime):
    """Live contacts the policy would erase now: in its lifecycle stages, created and last
    changed before the cut-off, with no activity since it and no open deal."""
    cutoff = months_before(now, policy.inactive_months)
    recent = Activity.objects.filter(contact=OuterRef("pk"), occurred_at__gte=cutoff)
    open_primary = Deal.objects.filter(primary_contact=OuterRef("pk"), status=Deal.Status.OPEN)
    open_involved = DealContact.objects.filter(
        contact=OuterRef("pk"), deal__status=Deal.Status.OPEN
    )
    return (
        Contact.objects.live()
        .filter(lifecycle__in=policy.lifecycles, created_at__lt=cutoff, updated_at__lt=cutoff)
        .exclude(Exists(recent))
        .exclude(Exists(open_primary))
        .exclude(Exists(open_involved))
        .select_related("organization", "owner")
        .order_by("created_at", "pk")
    )


def apply_retention_policy(*, now: datetime) -> int:
    """Erase up to RETENTION_BATCH candidates if the policy is on (the next run continues);
    returns how many were erased."""
    policy = RetentionPolicy.objects.filter(is_enabled=True).first()
    if policy is None:
        return 0
    reason = f"Retention policy: no activity for {policy.inactive_months} months"
    erased = 0
    for contact in list(retention_candidates(policy, now=now)[:RETENTION_BATCH]):
        erase_contact(contact, by=None, reason=reason, origin=ErasureRequest.Origin.RETENTION)
        erased += 1
    policy.last_run_at = now
    policy.save(update_fields=["last_run_at"])
    if erased:
        record_event(
            actor=None, verb="retention.run", target=policy, changes={"erased": [None, erased]}
        )
    return erased
