"""The tables Keel's automations keep in contacts (imported by contacts/models.py).

- `AutomationSettings`: a tenant's reminder lead time and the hour of its digests.
- `AutomationLog`: what each automation produced, once per subject, window and step
  (a reminder for a task due at 14:00, a stale alert for a deal's visit of a stage, a
  renewal notice 90 days before a contract ends). Its unique constraint is the job's
  "done" mark: beat's scans skip what it holds, a retried task or a racing worker
  inserts nothing twice, and reports count automation runs from it.
- `AssignmentRule` and its members: who gets new contacts and deals nobody owns.

Pipeline's automations use the same log (pipeline may import contacts, not the reverse).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
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


class AssignmentRule(TenantOwned):
    """Gives a new contact or deal that has no owner to one of `members`, in turn.

    The first active rule (by position) whose conditions all hold wins: a lead source,
    a territory (the organization's country or region) and, for deals, an amount range.
    An empty condition matches everything.
    """

    class AppliesTo(models.TextChoices):
        CONTACTS = "contacts", "New contacts"
        DEALS = "deals", "New deals"
        BOTH = "both", "New contacts and deals"

    name = models.CharField(max_length=80)
    applies_to = models.CharField(max_length=10, choices=AppliesTo.choices, default=AppliesTo.BOTH)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    source = models.CharField("lead source", max_length=40, blank=True)
    territory = models.CharField(
        max_length=100,
        blank=True,
        help_text="Country or region of the organization, e.g. Germany or Bavaria.",
    )
    min_amount = models.DecimalField(
        "deal amount from",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    max_amount = models.DecimalField(
        "deal amount up to",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    # How many records the rule has handed out: the next one goes to members[count % n].
    assigned_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                name="assignmentrule_tenant_name_unique",
                violation_error_message="Another rule already has this name.",
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "is_active", "position"], name="assignmentrule_order_idx"
            )
        ]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def applies_to_contacts(self) -> bool:
        return self.applies_to in (self.AppliesTo.CONTACTS, self.AppliesTo.BOTH)

    def applies_to_deals(self) -> bool:
        return self.applies_to in (self.AppliesTo.DEALS, self.AppliesTo.BOTH)


class AssignmentRuleMember(TenantOwned):
    """A member who takes turns receiving a rule's records."""

    rule = models.ForeignKey(
        AssignmentRule, on_delete=models.CASCADE, related_name="members", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "rule", "user"], name="assignmentrulemember_unique"
            )
        ]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.user_id} in rule {self.rule_id}"
