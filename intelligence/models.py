"""Account intelligence: value segmentation, customer health and churn episodes.

Every model is tenant-owned; indexes and unique constraints lead with `tenant`, and
foreign keys skip their own index for that reason. Health scores are stored one row per
customer and day (the daily job inserts a day once, so it is idempotent and the rows are
the trend); value segments are computed when asked, from the deals as they are now.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantOwned


class Quadrant(models.TextChoices):
    """Where an account sits on the value matrix (current value × potential value)."""

    INVEST = "invest", "Invest"
    PROTECT = "protect", "Protect"
    DEVELOP = "develop", "Develop"
    SERVE = "serve", "Serve efficiently"


# The health components, in the order the organization page lists them.
COMPONENTS: dict[str, str] = {
    "recency": "Recency of the last call, e-mail or meeting",
    "trend": "Activity over 90 days against the 90 before",
    "overdue_tasks": "Open overdue tasks",
    "stale_deals": "Stale deals",
    "renewal": "Contract end without a renewal deal",
    "lost_deals": "Deals lost in the last 90 days",
}
DEFAULT_WEIGHTS = {
    "recency": 25,
    "trend": 20,
    "overdue_tasks": 15,
    "stale_deals": 15,
    "renewal": 15,
    "lost_deals": 10,
}
DEFAULT_CHURN_THRESHOLD = 50
DEFAULT_CHURN_DROP = 20


def _weight(key: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        f"weight: {COMPONENTS[key][0].lower()}{COMPONENTS[key][1:]}",
        default=DEFAULT_WEIGHTS[key],
        validators=[MaxValueValidator(100)],
    )


class IntelligenceSettings(TenantOwned):
    """A tenant's health weights, churn rule and value thresholds (one row; defaults without)."""

    class PotentialSource(models.TextChoices):
        MANAGERS = "managers", "Managers and admins set the potential estimate"
        OWNERS = "owners", "The account's owner may set it too"

    weight_recency = _weight("recency")
    weight_trend = _weight("trend")
    weight_overdue_tasks = _weight("overdue_tasks")
    weight_stale_deals = _weight("stale_deals")
    weight_renewal = _weight("renewal")
    weight_lost_deals = _weight("lost_deals")
    churn_threshold = models.PositiveSmallIntegerField(
        "at risk below",
        default=DEFAULT_CHURN_THRESHOLD,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="A customer whose score falls below this is at risk.",
    )
    churn_drop = models.PositiveSmallIntegerField(
        "or when it drops by more than",
        default=DEFAULT_CHURN_DROP,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Points below the customer's best score of the previous 30 days.",
    )
    current_threshold = models.DecimalField(
        "high current value from",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Empty: the median over the accounts with some value.",
    )
    potential_threshold = models.DecimalField(
        "high potential value from",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Empty: the median over the accounts with some value.",
    )
    potential_source = models.CharField(
        "who sets the potential estimate",
        max_length=10,
        choices=PotentialSource.choices,
        default=PotentialSource.OWNERS,
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="intelligencesettings_tenant_unique")
        ]
        verbose_name_plural = "intelligence settings"

    def __str__(self) -> str:
        return f"Account intelligence settings (at risk below {self.churn_threshold})"

    @property
    def weights(self) -> dict[str, int]:
        return {key: getattr(self, f"weight_{key}") for key in COMPONENTS}


class AccountPotential(TenantOwned):
    """What an account could still buy, as estimated by its owner or a manager."""

    organization = models.ForeignKey(
        "contacts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    estimate = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "organization"], name="accountpotential_tenant_org_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Potential of {self.organization_id}: {self.estimate}"


class HealthScore(TenantOwned):
    """A customer's health on one day (the state at 00:00 of that day, tenant time).

    `components` lists each component as the page explains it:
    [{"key": "recency", "points": 13, "words": "no call, e-mail or meeting in 60 days",
      "value": 60}, …]; the score is 100 minus the points.
    """

    organization = models.ForeignKey(
        "contacts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField()
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    components = models.JSONField(default=list)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "organization", "day"], name="healthscore_tenant_org_day_unique"
            )
        ]
        indexes = [models.Index(fields=["tenant", "day"], name="healthscore_tenant_day_idx")]
        ordering = ["organization", "-day"]

    def __str__(self) -> str:
        return f"{self.organization_id} on {self.day}: {self.score}"


class ChurnState(TenantOwned):
    """Whether a customer is in a churn-risk episode, and which one.

    An episode starts the day the score falls below the threshold or drops by more than
    the set amount; its owner hears once (the notification key names the episode) and
    gets one follow-up task. It ends when the score is back at or above the threshold
    without a drop; only then can a new drop start episode n + 1.
    """

    organization = models.ForeignKey(
        "contacts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    episode = models.PositiveIntegerField(default=0)
    at_risk = models.BooleanField(default=False)
    since = models.DateField(null=True, blank=True)  # the day the current episode started
    recovered_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    task = models.ForeignKey(
        "contacts.Task",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "organization"], name="churnstate_tenant_org_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "at_risk"],
                condition=models.Q(at_risk=True),
                name="churnstate_at_risk_idx",
            )
        ]

    def __str__(self) -> str:
        state = "at risk" if self.at_risk else "healthy"
        return f"{self.organization_id}: {state} (episode {self.episode})"

    @property
    def key(self) -> str:
        """The episode's notification and task key."""
        return f"churn_risk:org-{self.organization_id}:episode-{self.episode}"
