"""What a rep does with a record: activities (calls, e-mails, meetings, notes) and tasks."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from contacts.models.records import BODY_MAX, NOTES_MAX, Contact, Organization
from crm.tenancy import TenantOwned


class Activity(TenantOwned):
    """Something that happened with a contact or organization: a call, e-mail, meeting or note."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "E-mail"
        MEETING = "meeting", "Meeting"
        NOTE = "note", "Note"

    class Outcome(models.TextChoices):
        CONNECTED = "connected", "Connected"
        LEFT_VOICEMAIL = "left_voicemail", "Left a voicemail"
        NO_ANSWER = "no_answer", "No answer"
        WRONG_NUMBER = "wrong_number", "Wrong number"
        HELD = "held", "Held"
        NO_SHOW = "no_show", "No-show"
        RESCHEDULED = "rescheduled", "Rescheduled"

    # Outcomes offered per kind; e-mails and notes have none.
    OUTCOMES_BY_KIND = {
        Kind.CALL: [
            Outcome.CONNECTED,
            Outcome.LEFT_VOICEMAIL,
            Outcome.NO_ANSWER,
            Outcome.WRONG_NUMBER,
        ],
        Kind.MEETING: [Outcome.HELD, Outcome.NO_SHOW, Outcome.RESCHEDULED],
    }

    kind = models.CharField(max_length=10, choices=Kind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True, validators=[MaxLengthValidator(BODY_MAX)])
    occurred_at = models.DateTimeField("when", default=timezone.now)
    duration_minutes = models.PositiveIntegerField(
        "duration (minutes)", null=True, blank=True, validators=[MaxValueValidator(24 * 60)]
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        db_index=False,
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        db_index=False,
    )
    # Brought in by mail capture, which shows it on the timelines itself (the message, its
    # thread and who may read it live there); contacts' own timeline entries skip it.
    captured = models.BooleanField(default=False)
    # The customer's move (an e-mail received), not the rep's: no response to a lead.
    inbound = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "contact", "-occurred_at"], name="activity_contact_idx"),
            models.Index(
                fields=["tenant", "organization", "-occurred_at"], name="activity_org_idx"
            ),
            # With the id, activities of a time range are read from the index alone (the
            # scorecard's deals with recent activity join them to their deal links).
            models.Index(
                fields=["tenant", "-occurred_at"],
                include=["id"],
                name="activity_tenant_occurred_idx",
            ),
            models.Index(
                fields=["tenant", "logged_by", "-occurred_at"], name="activity_logged_by_idx"
            ),
        ]
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    @property
    def owner_id(self) -> int | None:
        """Who may change it besides managers (crm.permissions.require_edit): its author."""
        return self.logged_by_id

    @property
    def has_outcome(self) -> bool:
        return self.kind in self.OUTCOMES_BY_KIND


class Task(TenantOwned):
    """The next action. Open until it is done or cancelled."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Added by hand"
        CADENCE = "cadence", "Follow-up cadence"
        AUTOMATION = "automation", "Automation"

    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True, validators=[MaxLengthValidator(NOTES_MAX)])
    due_at = models.DateTimeField("due", null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        db_index=False,
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        db_index=False,
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    # What created it, for automations that must create a task once (e.g. "cadence:12:step:3").
    source_key = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source_key"],
                condition=~Q(source_key=""),
                name="task_tenant_source_key_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "assignee", "due_at"],
                condition=Q(done_at__isnull=True, cancelled_at__isnull=True),
                name="task_open_assignee_due_idx",
            ),
            models.Index(fields=["tenant", "contact"], name="task_tenant_contact_idx"),
            models.Index(fields=["tenant", "organization"], name="task_tenant_org_idx"),
            models.Index(fields=["tenant", "-created_at"], name="task_tenant_created_idx"),
        ]
        ordering = [F("due_at").asc(nulls_last=True), "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def owner_id(self) -> int | None:
        """Who may change it besides managers (crm.permissions.require_edit): its assignee."""
        return self.assignee_id

    @property
    def is_open(self) -> bool:
        return self.done_at is None and self.cancelled_at is None

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < timezone.now()

    @property
    def status(self) -> str:
        if self.done_at:
            return "done"
        if self.cancelled_at:
            return "cancelled"
        return "overdue" if self.is_overdue else "open"

    @property
    def finished_at(self):
        return self.done_at or self.cancelled_at
