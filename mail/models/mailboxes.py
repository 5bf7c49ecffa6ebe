"""A member's mailbox (IMAP to read, optionally SMTP to send) and its folders' sync state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantOwned


class Security(models.TextChoices):
    SSL = "ssl", "SSL/TLS"
    STARTTLS = "starttls", "STARTTLS"
    NONE = "none", "None (local only)"


class Mailbox(TenantOwned):
    """One per member and workspace. The password is stored encrypted (mail.secrets)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    email = models.EmailField("e-mail address")
    imap_host = models.CharField("IMAP server", max_length=253)
    imap_port = models.PositiveIntegerField("IMAP port", default=993)
    imap_security = models.CharField(
        "IMAP security", max_length=10, choices=Security.choices, default=Security.SSL
    )
    username = models.CharField(max_length=320)
    password_encrypted = models.TextField(editable=False)
    # Sending from Keel: through this server when set, else through the workspace's.
    smtp_host = models.CharField("SMTP server", max_length=253, blank=True)
    smtp_port = models.PositiveIntegerField("SMTP port", default=587)
    smtp_security = models.CharField(
        "SMTP security", max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    sent_folder = models.CharField(max_length=200, blank=True, help_text="Found at connection.")
    is_private = models.BooleanField(
        "private mailbox",
        default=False,
        help_text="Others see that a conversation happened, not what it said.",
    )
    is_active = models.BooleanField(default=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failures = models.PositiveIntegerField(default=0)
    next_sync_at = models.DateTimeField(default=timezone.now)
    # Held by the sync in progress (mail.services.sync._claim).
    sync_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    messages_seen = models.PositiveIntegerField(default=0)
    messages_logged = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="mailbox_tenant_user_unique")
        ]
        indexes = [
            models.Index(
                fields=["tenant", "next_sync_at"],
                condition=models.Q(is_active=True),
                name="mailbox_due_idx",
            )
        ]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return self.email

    @property
    def owner_id(self) -> int:
        return self.user_id


class MailboxFolder(TenantOwned):
    """Where the sync of one folder stands: its UIDVALIDITY and the last UID read."""

    class Role(models.TextChoices):
        INBOX = "inbox", "Inbox"
        SENT = "sent", "Sent"

    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.CASCADE, related_name="folders", db_index=False
    )
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=10, choices=Role.choices)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "mailbox", "role"], name="mailboxfolder_role_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.name}"
