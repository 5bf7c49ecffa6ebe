"""In-app and e-mail notices, and each member's choice per kind."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from crm.models.accounts import User
from crm.tenancy import TenantOwned


class NotificationKind(models.TextChoices):
    """Every kind of notice Keel sends; members choose per kind how they get it."""

    TASK_DUE = "task_due", "Task reminders"
    OVERDUE_DIGEST = "overdue_digest", "Daily digest of overdue tasks"
    STALE_DEAL = "stale_deal", "Stale-deal alerts"
    RENEWAL = "renewal", "Renewal notices"
    ASSIGNMENT = "assignment", "Records assigned to me"
    WEEKLY_SUMMARY = "weekly_summary", "Weekly pipeline summary"
    CHURN_RISK = "churn_risk", "Customers at risk"
    SYSTEM = "system", "Workspace notices"


class Notification(TenantOwned):
    """One notice to one member, created at most once per deterministic `key`.

    The key names what it is about (kind, object, threshold, window), e.g.
    "stale_deal:deal-42:stage-7:limit"; the unique constraint makes a job that runs
    twice, or two workers racing, create (and e-mail) it once.
    """

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_wanted = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "recipient", "key"],
                name="notification_tenant_recipient_key_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "recipient", "read_at", "-created_at"],
                name="notification_inbox_idx",
            ),
            models.Index(fields=["tenant", "kind", "created_at"], name="notification_kind_idx"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(TenantOwned):
    """A member's choice for one kind; without a row, both channels are on."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "kind"], name="notification_pref_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind}"
