"""The data-subject export: everything Keel holds about a contact, as JSON in a zip."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from contacts.models import Activity, Contact, Task
from crm import custom_fields
from crm.audit import record_event
from crm.models import AuditEvent, User
from crm.tenancy import current_tenant
from governance.models import Consent
from mail.services.privacy import mail_of
from pipeline.models import Deal, DealContact


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
        **mail_of(contact),
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
            "e-mails and meetings, consents and the history of changes to the contact.\n",
        )
    record_event(
        actor=by,
        verb="contact.data_exported",
        target=contact,
        changes={"sections": [None, sorted(k for k in data if isinstance(data[k], list | dict))]},
    )
    return buffer.getvalue()
