"""The transactional outbox (`crm.outbox`)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from crm.models.accounts import User
from crm.tenancy import TenantOwned


class OutboxEvent(TenantOwned):
    """Something that happened which systems outside Keel may hear about (webhooks).

    Written only by `crm.outbox.publish`, inside the transaction that made the change, so
    the event exists exactly when the change committed (a transactional outbox). Its
    consumers (api's webhooks) turn it into deliveries and set `dispatched_at`.
    """

    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.BigIntegerField(null=True)
    # {"object": <the target as the API shows it, at the moment of the event>, …extra}
    payload = models.JSONField(default=dict)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "event_id"], name="outboxevent_tenant_event_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "created_at"], name="outboxevent_tenant_created_idx"),
            models.Index(
                fields=["tenant", "created_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outboxevent_pending_idx",
            ),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.event} {self.target_type}:{self.target_id}"
