"""The audit trail's rows (written only by `crm.audit`)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from crm.models.accounts import User
from crm.tenancy import TenantOwned


class AuditEvent(TenantOwned):
    """Who did what to which record, and what changed. Written only by `crm.audit`."""

    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", db_index=False
    )
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.BigIntegerField(null=True)
    target_repr = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created_idx"),
            models.Index(
                fields=["tenant", "target_type", "target_id"], name="audit_tenant_target_idx"
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.verb} {self.target_repr}"
