"""A member's private calendar feed: Keel's tasks and meetings as ICS, behind a token."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantOwned


class CalendarFeed(TenantOwned):
    """Revoking deletes the row; a new token makes the old URL answer 404."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Only the token's SHA-256 is stored; the URL shows the token once.
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user"], name="calendarfeed_tenant_user_unique"
            ),
            models.UniqueConstraint(
                fields=["tenant", "token_hash"], name="calendarfeed_token_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"calendar feed of {self.user_id}"


class Invitation(TenantOwned):
    """A meeting invitation found in synced or forwarded mail (iCalendar VEVENT, by UID).

    A later REQUEST with a higher SEQUENCE updates it, a CANCEL cancels it. It shows on
    its contacts' timelines at its start; once it has started (and is not cancelled) it
    is logged as a `meeting` activity (mail.services.invitations.log_held_meetings).
    """

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        TENTATIVE = "tentative", "Tentative"
        CANCELLED = "cancelled", "Cancelled"

    uid = models.CharField(max_length=500)
    sequence = models.IntegerField(default=0)
    # The organizer's DTSTAMP: of two versions with the same SEQUENCE, the later one wins.
    dtstamp = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CONFIRMED)
    summary = models.CharField(max_length=300)
    location = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    organizer = models.CharField(max_length=320, blank=True)
    attendees = models.JSONField(default=list, blank=True)  # [{"name", "address"}]
    contacts = models.ManyToManyField(
        "contacts.Contact", through="InvitationContact", related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    message = models.ForeignKey(
        "mail.EmailMessage", on_delete=models.SET_NULL, null=True, related_name="+", db_index=False
    )
    activity = models.ForeignKey(
        "contacts.Activity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "uid"], name="invitation_tenant_uid_unique"),
            models.UniqueConstraint(
                fields=["tenant", "activity"],
                condition=models.Q(activity__isnull=False),
                name="invitation_activity_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "starts_at"], name="invitation_starts_idx"),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def phase(self) -> str:
        """What the timeline says of it: "cancelled", "held" (its start has passed, whether
        or not the hourly log has made it an activity yet) or "upcoming"."""
        if self.status == self.Status.CANCELLED:
            return "cancelled"
        if self.activity_id or self.starts_at <= timezone.now():
            return "held"
        return "upcoming"


class InvitationContact(TenantOwned):
    invitation = models.ForeignKey(
        Invitation, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "invitation", "contact"], name="invitationcontact_unique"
            )
        ]
        indexes = [models.Index(fields=["tenant", "contact"], name="invitationcontact_contact_idx")]
