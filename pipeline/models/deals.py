"""Deals, their contacts, activities and tasks, their stage history and search terms.

A deal changes stage only through `pipeline.services.move_deal`, which writes a
`StageTransition`; the transitions (with `Deal.created_at` and `Deal.closed_at`) let
reports reconstruct any past instant: a deal is open at T when created before T and not
closed before T, and its stage at T is the `to_stage` of its last transition before T
(creation writes the first one).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from crm.models import Stamped
from crm.tenancy import TenantManager, TenantOwned, TenantQuerySet, current_tenant
from pipeline import criterion_text
from pipeline.models.config import LostReason, Pipeline, Stage


class DealQuerySet(TenantQuerySet):
    def open(self) -> DealQuerySet:
        return self.filter(status=Deal.Status.OPEN)

    def open_at(self, instant) -> DealQuerySet:
        """Deals open at `instant`, reconstructed from timestamps (see the module docstring)."""
        return self.filter(created_at__lt=instant).filter(
            Q(closed_at__isnull=True) | Q(closed_at__gte=instant)
        )


class DealManager(TenantManager.from_queryset(DealQuerySet)):
    pass


class Deal(TenantOwned, Stamped):
    """A sale (or an onboarding, a renewal) moving through a pipeline's stages."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    # Built-in fields a stage criterion may require: {field name: label}.
    CRITERION_FIELDS = criterion_text.CRITERION_FIELDS

    name = models.CharField(max_length=200)
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="deals", db_index=False
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    organization = models.ForeignKey(
        "contacts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
        db_index=False,
    )
    primary_contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="primary_deals",
        db_index=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, default="EUR")
    expected_close = models.DateField("expected close date", null=True, blank=True)
    # BANT qualification: what the Qualified stage asks for by default.
    budget = models.DecimalField(
        "budget",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="The budget the buyer has confirmed.",
    )
    authority = models.CharField(
        "decision maker", max_length=200, blank=True, help_text="Who signs, and their role."
    )
    need = models.TextField(
        "need", blank=True, max_length=2000, help_text="The problem this deal solves for them."
    )
    timeline = models.CharField(
        "buying timeline", max_length=200, blank=True, help_text="When and how they decide."
    )
    source = models.CharField(max_length=40, blank=True)
    contract_start = models.DateField(null=True, blank=True)
    contract_end = models.DateField(null=True, blank=True)
    lost_reason = models.ForeignKey(
        LostReason,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    lost_note = models.TextField(blank=True, max_length=2000)
    custom_fields = models.JSONField(default=dict, blank=True)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    # stage_entered_at + the stage's max_dwell_days; kept by the services (null: no limit).
    dwell_due_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change; a change based on an older version is refused.
    version = models.PositiveIntegerField(default=1)
    contacts = models.ManyToManyField(
        "contacts.Contact", through="DealContact", related_name="deals", blank=True
    )

    objects = DealManager()
    unscoped = models.Manager()

    class Meta:
        base_manager_name = "unscoped"
        indexes = [
            models.Index(
                fields=["tenant", "stage", "stage_entered_at", "id"], name="deal_board_idx"
            ),
            models.Index(
                fields=["tenant", "status", "expected_close"], name="deal_status_close_idx"
            ),
            models.Index(fields=["tenant", "owner", "status"], name="deal_owner_status_idx"),
            # Covering: the board's column totals and the forecast read open deals of a
            # pipeline by index only (67,500 deals: 35 ms instead of 120; bench/NOTES.md).
            models.Index(
                fields=["tenant", "pipeline", "status", "stage"],
                include=["id", "amount", "expected_close", "owner"],
                name="deal_pipeline_stage_idx",
            ),
            models.Index(fields=["tenant", "organization"], name="deal_organization_idx"),
            models.Index(fields=["tenant", "primary_contact"], name="deal_primary_contact_idx"),
            models.Index(fields=["tenant", "closed_at"], name="deal_closed_at_idx"),
            models.Index(fields=["tenant", "created_at"], name="deal_created_at_idx"),
            models.Index(
                fields=["tenant", "dwell_due_at"],
                condition=Q(status="open"),
                name="deal_open_dwell_due_idx",
            ),
            models.Index(fields=["tenant", "contract_end"], name="deal_contract_end_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="lost") | Q(lost_reason__isnull=False),
                name="deal_lost_needs_reason",
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | (~Q(status="open") & Q(closed_at__isnull=False)),
                name="deal_closed_at_matches_status",
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("pipeline:deal-detail", args=[current_tenant().slug, self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    def days_in_stage(self, now=None) -> int:
        return max(0, ((now or timezone.now()) - self.stage_entered_at).days)

    def dwell_state(self, now=None) -> str:
        """ "ok", "warning" (past 75 % of the limit), "over" (past it) or "none" (no limit)."""
        limit = self.stage.max_dwell_days
        if not limit or not self.is_open:
            return "none"
        elapsed = (now or timezone.now()) - self.stage_entered_at
        if elapsed > timedelta(days=limit):
            return "over"
        if elapsed > timedelta(days=limit) * 0.75:
            return "warning"
        return "ok"


class DealContact(TenantOwned):
    """A contact involved in a deal besides (or including) its primary contact."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="+", db_index=False)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    role = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "deal", "contact"], name="dealcontact_tenant_deal_contact_unique"
            )
        ]
        indexes = [models.Index(fields=["tenant", "contact"], name="dealcontact_contact_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id} on deal {self.deal_id}"


class StageTransition(TenantOwned):
    """A deal entering a stage: from where (none on creation), when, by whom, how long the
    deal spent in the stage it left, and the reason when a manager overrode the criteria."""

    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="transitions", db_index=False
    )
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", db_index=False)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # Time spent in from_stage (null on creation).
    seconds_in_stage = models.BigIntegerField(null=True, blank=True)
    override_reason = models.TextField(blank=True, max_length=2000)
    # The criteria that were unmet and overridden: [{"code": …, "label": …}, …].
    overridden = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            # A deal's stage at an instant is its last transition before it: with `id`
            # (the tie-break) and `to_stage` in the index, that is one backward index-only
            # step per deal, no sort (the scorecard's deals moved since `end`).
            models.Index(
                fields=["tenant", "deal", "at", "id"],
                include=["to_stage"],
                name="transition_deal_at_idx",
            ),
            models.Index(fields=["tenant", "at"], name="transition_at_idx"),
            models.Index(fields=["tenant", "to_stage", "at"], name="transition_to_stage_idx"),
            models.Index(fields=["tenant", "from_stage", "at"], name="transition_from_stage_idx"),
        ]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} → {self.to_stage_id} at {self.at:%Y-%m-%d}"

    @property
    def is_override(self) -> bool:
        return bool(self.override_reason)


class DealActivity(TenantOwned):
    """Links a contacts activity to a deal (contacts knows nothing of deals)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="+", db_index=False)
    activity = models.ForeignKey(
        "contacts.Activity", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "activity"], name="dealactivity_tenant_activity_unique"
            )
        ]
        indexes = [models.Index(fields=["tenant", "deal"], name="dealactivity_deal_idx")]
        verbose_name_plural = "deal activities"

    def __str__(self) -> str:
        return f"activity {self.activity_id} on deal {self.deal_id}"


class DealTask(TenantOwned):
    """Links a contacts task to a deal: the deal's next actions."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="+", db_index=False)
    task = models.ForeignKey(
        "contacts.Task", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "task"], name="dealtask_tenant_task_unique")
        ]
        indexes = [models.Index(fields=["tenant", "deal"], name="dealtask_deal_idx")]

    def __str__(self) -> str:
        return f"task {self.task_id} on deal {self.deal_id}"


class DealSearchTerm(TenantOwned):
    """A folded word (or the whole name) of a deal's name, for global search. Written by
    database triggers on PostgreSQL (migration 0005) with contacts' `contacts_terms()`,
    read through a prefix range as contacts' `SearchTerm` is (see contacts.search)."""

    term = models.CharField(max_length=200)
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "term"], name="dealsearchterm_term_idx"),
            models.Index(fields=["tenant", "deal"], name="dealsearchterm_deal_idx"),
        ]

    def __str__(self) -> str:
        return self.term
