"""What admins configure: pipelines, their stages and stage criteria, lost reasons, the rotting period."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from crm.tenancy import TenantManager, TenantOwned, TenantQuerySet, current_tenant
from pipeline.criterion_text import describe_criterion

DEFAULT_ROTTING_DAYS = 14


class PipelineSettings(TenantOwned):
    """Per-tenant pipeline behaviour (one row per tenant, created with the defaults)."""

    # A deal with no activity linked to it for this many days is stale ("rotting").
    rotting_days = models.PositiveSmallIntegerField(
        "rotting period (days)",
        default=DEFAULT_ROTTING_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="An open deal with no activity for this many days counts as stale.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="pipelinesettings_tenant_unique")
        ]
        verbose_name_plural = "pipeline settings"

    def __str__(self) -> str:
        return f"Pipeline settings ({self.rotting_days} days rotting period)"


class Pipeline(TenantOwned):
    """An ordered list of stages a deal goes through. A tenant may have several."""

    class Kind(models.TextChoices):
        SALES = "sales", "Sales"
        ONBOARDING = "onboarding", "Onboarding"
        RENEWALS = "renewals", "Renewals"
        OTHER = "other", "Other"

    # Deals of these pipelines are revenue: the forecast and won revenue count them.
    REVENUE_KINDS = (Kind.SALES, Kind.RENEWALS)

    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SALES)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="pipeline_tenant_name_unique")
        ]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("pipeline:board", args=[current_tenant().slug]) + f"?pipeline={self.pk}"

    @property
    def counts_as_revenue(self) -> bool:
        return self.kind in self.REVENUE_KINDS


class StageQuerySet(TenantQuerySet):
    def active(self) -> StageQuerySet:
        """Stages in use (a removed stage with history stays, archived, for the figures)."""
        return self.filter(archived_at__isnull=True)


class StageManager(TenantManager.from_queryset(StageQuerySet)):
    pass


class Stage(TenantOwned):
    """A step of a pipeline: win probability, maximum dwell time, terminal kind, criteria."""

    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.CASCADE, related_name="stages", db_index=False
    )
    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(
        "win probability (%)", default=0, validators=[MaxValueValidator(100)]
    )
    max_dwell_days = models.PositiveSmallIntegerField(
        "maximum days in stage",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = StageManager()
    unscoped = models.Manager()

    class Meta:
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "pipeline", "name"],
                condition=Q(archived_at__isnull=True),
                name="stage_tenant_pipeline_name_unique",
                violation_error_message="This pipeline already has a stage with that name.",
            ),
            # At most one won and one lost stage per pipeline (services keep at least one).
            models.UniqueConstraint(
                fields=["tenant", "pipeline", "kind"],
                condition=Q(archived_at__isnull=True) & ~Q(kind="open"),
                name="stage_tenant_pipeline_terminal_unique",
            ),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="stage_probability_0_100"
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "pipeline", "position"], name="stage_tenant_pipeline_idx"
            )
        ]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_terminal(self) -> bool:
        return self.kind != self.Kind.OPEN

    @property
    def is_won(self) -> bool:
        return self.kind == self.Kind.WON

    @property
    def is_lost(self) -> bool:
        return self.kind == self.Kind.LOST


class StageCriterion(TenantOwned):
    """One condition a deal must meet to enter or to leave a stage. Data, not code.

    A *field* criterion names a deal field (`Deal.CRITERION_FIELDS`, or `custom:<key>` for
    a custom field) that must not be blank. An *activity* criterion asks for at least
    `min_count` activities of `activity_kind` (or of any kind) linked to the deal: ever, or
    since the deal entered the stage it is in when it moves ("while in this stage" for an
    exit criterion; "in the stage before" for an entry criterion).
    """

    class When(models.TextChoices):
        ENTRY = "entry", "To enter"
        EXIT = "exit", "To leave"

    class Kind(models.TextChoices):
        FIELD = "field", "Required field"
        ACTIVITY = "activity", "Required activity"

    class Scope(models.TextChoices):
        IN_STAGE = "in_stage", "While in the current stage"
        EVER = "ever", "At any time"

    ANY_ACTIVITY = "any"

    stage = models.ForeignKey(
        Stage, on_delete=models.CASCADE, related_name="criteria", db_index=False
    )
    when = models.CharField(max_length=10, choices=When.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    field_name = models.CharField(max_length=60, blank=True)
    # An Activity.Kind value (call, email, meeting, note) or "any".
    activity_kind = models.CharField(max_length=10, blank=True)
    activity_scope = models.CharField(max_length=10, choices=Scope.choices, blank=True)
    min_count = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "stage", "when", "kind", "field_name", "activity_kind"],
                name="criterion_tenant_stage_unique",
                violation_error_message="This stage already has that criterion.",
            )
        ]
        ordering = ["when", "kind", "id"]

    def __str__(self) -> str:
        return self.describe()

    def describe(self, stage_name: str | None = None) -> str:
        """A sentence a rep understands: "Budget is filled in", "A meeting logged…"."""
        return describe_criterion(self, stage_name=stage_name)


class LostReason(TenantOwned):
    """An entry of the admin-editable list a rep picks from when a deal is lost."""

    label = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "label"],
                name="lostreason_tenant_label_unique",
                violation_error_message="That reason is already on the list.",
            )
        ]
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label
