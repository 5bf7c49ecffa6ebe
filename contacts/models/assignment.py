"""Lead assignment: who gets new contacts and deals nobody owns, in turn."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantOwned


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
