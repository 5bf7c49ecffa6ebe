"""The messages Keel keeps: one per workspace and Message-ID, however many mailboxes hold
it, each with its `email` (or, for an invitation, `meeting`) activity on the timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantOwned


class EmailThread(TenantOwned):
    """A conversation: a message and its replies (Message-ID, In-Reply-To, References)."""

    subject = models.CharField(max_length=300)
    last_message_at = models.DateTimeField(default=timezone.now)
    # Marked private by a member: only they see the bodies (None: as the mailbox says).
    private_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-last_message_at"], name="thread_recent_idx")]

    def __str__(self) -> str:
        return self.subject


class EmailMessage(TenantOwned):
    class Direction(models.TextChoices):
        INCOMING = "in", "Received"
        OUTGOING = "out", "Sent"

    class Source(models.TextChoices):
        IMAP = "imap", "Mailbox sync"
        FORWARD = "forward", "Forwarded or BCC'd to Keel"
        SENT = "sent", "Sent from Keel"

    thread = models.ForeignKey(
        EmailThread, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    activity = models.ForeignKey(
        "contacts.Activity", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # The Message-ID as written (angle brackets stripped); a message without one gets a
    # stable one derived from its content (mail.parsing.message_key).
    message_id = models.CharField(max_length=500)
    in_reply_to = models.CharField(max_length=500, blank=True)
    references = models.JSONField(default=list, blank=True)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    from_address = models.CharField(max_length=320)
    from_name = models.CharField(max_length=200, blank=True)
    to = models.JSONField(default=list, blank=True)  # [{"name": …, "address": …}]
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)  # sanitised (mail.parsing.clean_html)
    sent_at = models.DateTimeField()
    # The member whose mailbox (or forward, or send) brought it in first.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    is_private = models.BooleanField(default=False)
    # What could not be kept, in words ("report.pdf (31.2 MB) is over the 25 MB limit").
    notes = models.JSONField(default=list, blank=True)
    # An invitation (text/calendar) carried by this message: its UID and sequence.
    calendar_uid = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "message_id"], name="emailmessage_tenant_message_id_unique"
            ),
            models.UniqueConstraint(
                fields=["tenant", "activity"], name="emailmessage_activity_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "thread", "sent_at"], name="emailmessage_thread_idx"),
            models.Index(fields=["tenant", "calendar_uid"], name="emailmessage_calendar_idx"),
            # Replies kept before the message they answer are found by it (capture).
            models.Index(fields=["tenant", "in_reply_to"], name="emailmessage_reply_idx"),
        ]
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return self.subject or self.message_id

    def hidden_from(self, user) -> bool:
        """Whether `user` sees only that this message exists, not what it says."""
        private_to = self.thread.private_to_id
        if private_to is not None:
            return private_to != user.pk
        return self.is_private and self.owner_id != user.pk


class EmailLink(TenantOwned):
    """A record a message is about: each matched contact, with its organization and open
    deals at the time (one row per record, so each record's timeline reads its own)."""

    message = models.ForeignKey(
        EmailMessage, on_delete=models.CASCADE, related_name="links", db_index=False
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, null=True, related_name="+", db_index=False
    )
    organization = models.ForeignKey(
        "contacts.Organization",
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
        db_index=False,
    )
    deal = models.ForeignKey(
        "pipeline.Deal", on_delete=models.CASCADE, null=True, related_name="+", db_index=False
    )
    sent_at = models.DateTimeField()  # the message's, so a timeline page reads one index

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(contact__isnull=False, organization__isnull=True, deal__isnull=True)
                    | models.Q(contact__isnull=True, organization__isnull=False, deal__isnull=True)
                    | models.Q(contact__isnull=True, organization__isnull=True, deal__isnull=False)
                ),
                name="emaillink_one_record",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "contact", "-sent_at"], name="emaillink_contact_idx"),
            models.Index(fields=["tenant", "organization", "-sent_at"], name="emaillink_org_idx"),
            models.Index(fields=["tenant", "deal", "-sent_at"], name="emaillink_deal_idx"),
            models.Index(fields=["tenant", "message"], name="emaillink_message_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"message {self.message_id} → {self.contact_id or self.organization_id or self.deal_id}"
        )


def attachment_path(attachment: EmailAttachment, filename: str) -> str:
    return f"mail/{attachment.tenant_id}/{attachment.message_id}/{timezone.now():%Y%m%d%H%M%S%f}"


class EmailAttachment(TenantOwned):
    message = models.ForeignKey(
        EmailMessage, on_delete=models.CASCADE, related_name="attachments", db_index=False
    )
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    file = models.FileField(upload_to=attachment_path, max_length=300)

    class Meta:
        indexes = [models.Index(fields=["tenant", "message"], name="emailattachment_message_idx")]

    def __str__(self) -> str:
        return self.filename
