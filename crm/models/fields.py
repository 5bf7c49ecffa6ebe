"""Custom-field definitions (validation in `crm.custom_fields`)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantOwned


class FieldDefinition(TenantOwned):
    """A custom field an admin added to organizations, contacts or deals.

    Records keep the values in their `custom_fields` JSON under `key` (see
    `crm.custom_fields` for the types and their validation). Removing a field archives
    its definition: the values and their audit history stay, and restoring the field
    brings them back, so a key is never reused for another field.
    """

    class RecordType(models.TextChoices):
        ORGANIZATION = "organization", "Organizations"
        CONTACT = "contact", "Contacts"
        DEAL = "deal", "Deals"

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        LONG_TEXT = "long_text", "Long text"
        NUMBER = "number", "Number"
        MONEY = "money", "Money"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes/no"
        CHOICE = "choice", "Single choice"
        MULTI_CHOICE = "multi_choice", "Multiple choice"
        URL = "url", "URL"
        EMAIL = "email", "E-mail"

    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    key = models.CharField(
        max_length=50,
        validators=[
            RegexValidator(
                r"^[a-z][a-z0-9_]{0,49}$",
                "Use lowercase letters, digits and underscores, starting with a letter.",
            )
        ],
    )
    label = models.CharField(max_length=80)
    field_type = models.CharField("type", max_length=20, choices=Type.choices)
    help_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_required = models.BooleanField(
        "always required",
        default=False,
        help_text="Forms and imports refuse a record without a value.",
    )
    # The options of a (multiple) choice field, in order; records store the option text.
    choices = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "record_type", "key"],
                name="fielddef_tenant_type_key_unique",
                violation_error_message="A field with this key exists (perhaps removed).",
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "record_type", "position"], name="fielddef_tenant_type_pos_idx"
            )
        ]
        ordering = ["record_type", "position", "id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_record_type_display().lower()})"

    @property
    def is_active(self) -> bool:
        return self.archived_at is None

    @property
    def criterion_name(self) -> str:
        """How a stage criterion names this field: custom:<key>."""
        return f"custom:{self.key}"
