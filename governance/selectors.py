"""What the governance settings pages read."""

from __future__ import annotations

from typing import Any

from crm.models import FieldDefinition
from governance.models import ErasureRequest, ImportJob, RetentionPolicy
from pipeline.models import LostReason, StageCriterion


def overview() -> dict[str, Any]:
    """The settings overview's figures: live custom fields, the latest import, erasure
    requests, the retention policy (None until one is saved)."""
    return {
        "fields": FieldDefinition.objects.filter(archived_at__isnull=True).count(),
        "imports": ImportJob.objects.order_by("-created_at").first(),
        "erasures": ErasureRequest.objects.count(),
        "retention": RetentionPolicy.objects.first(),
    }


def field_groups() -> list[dict[str, Any]]:
    """Custom fields per record type, in order: the fields in use and the removed ones."""
    definitions = list(FieldDefinition.objects.order_by("record_type", "position", "id"))
    return [
        {
            "type": value,
            "label": label,
            "fields": [d for d in definitions if d.record_type == value and d.is_active],
            "removed": [d for d in definitions if d.record_type == value and not d.is_active],
        }
        for value, label in FieldDefinition.RecordType.choices
    ]


def fields_in_criteria() -> set[str]:
    """The custom fields stage criteria name ("custom:<key>")."""
    return set(
        StageCriterion.objects.filter(field_name__startswith="custom:").values_list(
            "field_name", flat=True
        )
    )


def lost_reasons() -> list[LostReason]:
    return list(LostReason.objects.order_by("position", "label"))
