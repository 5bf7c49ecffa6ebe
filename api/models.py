"""Personal API tokens, webhook endpoints and their deliveries, idempotency keys.

All tenant-owned: a token, an endpoint or a stored response belongs to one workspace,
and its indexes and unique constraints lead with `tenant`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.tenancy import TenantOwned


class ApiToken(TenantOwned):
    """A member's key to the API in one workspace, with a scope.

    The secret is shown once, at creation; only its SHA-256 is kept. The token acts as
    its member, with the member's current role: deactivating the member, or revoking the
    token, ends it.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    membership = models.ForeignKey(
        "crm.Membership", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    name = models.CharField(max_length=80)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    # The visible part of the token that finds its row ("keel_12_ab12cd34…").
    prefix = models.CharField(max_length=16)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "prefix"], name="apitoken_tenant_prefix_unique"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "user", "-created_at"], name="apitoken_tenant_user_idx"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE


class WebhookEndpoint(TenantOwned):
    """A URL an admin subscribed to some of Keel's events (crm.outbox.EVENTS).

    Disabled automatically after `WEBHOOK_DISABLE_AFTER` failed attempts in a row (the
    admins are told); an admin enables it again.
    """

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)
    # The HMAC key receivers verify signatures with; shown to admins, rotated on request.
    secret = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)
    failure_count = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "is_active"], name="webhookendpoint_active_idx"),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantOwned):
    """One event for one endpoint, tried until it is delivered or given up.

    `event_id` is the idempotency id the receiver sees in every attempt (the payload's
    `id` and the X-Keel-Delivery header): delivery is at least once, so a receiver that
    remembers the ids it has processed processes each event once.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event = models.CharField(max_length=64)
    event_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    is_test = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # [{"at": iso, "status": int | None, "error": str, "ms": int}], the newest last.
    history = models.JSONField(default=list, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "endpoint", "event_id"], name="webhookdelivery_once_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "endpoint", "-created_at"], name="webhookdelivery_log_idx"
            ),
            models.Index(
                fields=["tenant", "next_attempt_at"],
                condition=Q(delivered_at__isnull=True, failed_at__isnull=True),
                name="webhookdelivery_due_idx",
            ),
            models.Index(fields=["tenant", "created_at"], name="webhookdelivery_created_idx"),
        ]
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id}"

    @property
    def status(self) -> str:
        if self.delivered_at:
            return "delivered"
        if self.failed_at:
            return "failed"
        return "retrying" if self.attempts else "pending"


class IdempotencyKey(TenantOwned):
    """The first answer to a POST sent with an Idempotency-Key header, replayed to retries.

    Unique per tenant, user and key; kept for `IDEMPOTENCY_TTL`. `fingerprint` is the
    SHA-256 of method, path and body: the same key with another request is refused.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "key"], name="idempotencykey_tenant_user_key_unique"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "created_at"], name="idempotencykey_created_idx"),
        ]

    def __str__(self) -> str:
        return self.key
