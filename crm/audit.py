"""The audit recorder every app's services call: `record_event(actor=…, verb=…, target=…)`."""

from __future__ import annotations

from typing import Any

from django.db import models

from crm.models import AuditEvent, User


def record_event(
    *,
    actor: User | None,
    verb: str,
    target: models.Model,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry to the current tenant's audit trail (entries are never edited)."""
    return AuditEvent.objects.create(
        actor=actor,
        verb=verb,
        target_type=target._meta.label_lower,
        target_id=target.pk,
        target_repr=str(target)[:255],
        changes=changes or {},
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose values differ."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
