"""A member's own things: saved list views and recently touched records."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from contacts.models.records import Contact, Organization
from crm.tenancy import TenantOwned


class SavedView(TenantOwned):
    """A member's named filter of a list, shown as a tab above it."""

    class ListName(models.TextChoices):
        CONTACTS = "contacts", "Contacts"
        ORGANIZATIONS = "organizations", "Organizations"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    list_name = models.CharField(max_length=20, choices=ListName.choices)
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "list_name", "name"],
                name="savedview_tenant_user_name_unique",
            )
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class RecentRecord(TenantOwned):
    """A record a member opened or changed lately (My day's "recently touched")."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    touched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Not partial: upserts (ON CONFLICT) need plain unique columns; NULLs never collide.
            models.UniqueConstraint(
                fields=["tenant", "user", "contact"], name="recent_tenant_user_contact_unique"
            ),
            models.UniqueConstraint(
                fields=["tenant", "user", "organization"], name="recent_tenant_user_org_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "user", "-touched_at"], name="recent_tenant_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact or self.organization} at {self.touched_at:%Y-%m-%d %H:%M}"

    @property
    def record(self) -> Contact | Organization | None:
        return self.contact or self.organization
