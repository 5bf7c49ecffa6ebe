"""The tables every automation shares (the helpers are in `crm.automation`).

- `AutomationSettings`: a tenant's reminder lead time and the hour of its digests.
- `AutomationLog`: what each automation produced, once per subject, window and step
  (a reminder for a task due at 14:00, a stale alert for a deal's visit of a stage, a
  renewal notice 90 days before a contract ends). Its unique constraint is the job's
  "done" mark: beat's scans skip what it holds, a retried task or a racing worker
  inserts nothing twice, and reports count automation runs from it.

They live in crm, like notification keys, so that every app's automations use them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantManager, TenantOwned, TenantQuerySet

DEFAULT_REMINDER_LEAD_MINUTES = 15
DEFAULT_DIGEST_HOUR = 8


class AutomationSettings(TenantOwned):
    """Per-tenant automation behaviour (one row per tenant; defaults when absent)."""

    reminder_lead_minutes = models.PositiveSmallIntegerField(
        "remind before a task is due (minutes)",
        default=DEFAULT_REMINDER_LEAD_MINUTES,
        validators=[MaxValueValidator(24 * 60)],
        help_text="0 reminds at the due time; at most one day (1440).",
    )
    digest_hour = models.PositiveSmallIntegerField(
        "hour of the daily digest and weekly summary",
        default=DEFAULT_DIGEST_HOUR,
        validators=[MaxValueValidator(23)],
        help_text="In the workspace's time zone: 8 sends them from 08:00.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="automationsettings_tenant_unique")
        ]
        verbose_name_plural = "automation settings"

    def __str__(self) -> str:
        return f"Automation settings (reminders {self.reminder_lead_minutes} min ahead)"


class Automation(models.TextChoices):
    TASK_REMINDER = "task_reminder", "Task reminders"
    OVERDUE_DIGEST = "overdue_digest", "Daily overdue digest"
    STALE_DEAL = "stale_deal", "Stale-deal alerts"
    RENEWAL = "renewal", "Renewal notices"
    CADENCE = "cadence", "Follow-up cadences"
    ASSIGNMENT = "assignment", "Lead assignment"
    WEEKLY_SUMMARY = "weekly_summary", "Weekly pipeline summary"


# What counts as an automation run (digests and summaries are reports, not runs).
RUN_KINDS = [
    Automation.TASK_REMINDER,
    Automation.STALE_DEAL,
    Automation.RENEWAL,
    Automation.CADENCE,
    Automation.ASSIGNMENT,
]
RENEWAL_DEAL_STEP = "deal"  # the renewal deal opened at the first notice


class AutomationLogQuerySet(TenantQuerySet):
    def runs(self) -> AutomationLogQuerySet:
        """METRICS.md's automation runs: reminders, stale-deal alerts, renewal notices,
        cadence tasks and automatic assignments, without the rows that only mark work
        as done (a renewal notice skipped when a later one was due, the renewal deal)."""
        return (
            self.filter(automation__in=RUN_KINDS)
            .exclude(automation=Automation.RENEWAL, step=RENEWAL_DEAL_STEP)
            .exclude(detail__has_key="skipped")
        )


class AutomationLogManager(TenantManager.from_queryset(AutomationLogQuerySet)):
    pass


class AutomationLog(TenantOwned):
    """One thing an automation did, at most once per (subject, window, step).

    `window` is the instant that identifies the occurrence: a task's due time, the
    moment a deal entered its stage, a contract's end, the start of a digest's day.
    `step` is the threshold inside it ("limit", "twice", "90"…). A new window (the task
    was snoozed, the deal moved) lets the automation act again.
    """

    automation = models.CharField(max_length=32, choices=Automation.choices)
    subject_type = models.CharField(max_length=40)  # "contacts.task", "pipeline.deal", …
    subject_id = models.BigIntegerField()
    window = models.DateTimeField()
    step = models.CharField(max_length=20, blank=True)
    # Whom it was for: the reminded assignee, the new owner, the digest's reader.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    summary = models.CharField(max_length=200)
    url = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AutomationLogManager()
    unscoped = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "automation", "subject_type", "subject_id", "window", "step"],
                name="automationlog_once_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "automation", "-created_at"], name="automationlog_recent_idx"
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.summary
