"""The tables of pipeline's automations.

- `CadenceStep`: a stage's follow-up cadence. Entering the stage plans one task per step
  (due `offset_days` after entry); leaving it cancels the ones still open.
- `RenewalOffset`: how many days before a won deal's contract ends its owner hears
  about the renewal (90, 60 and 30 by default; managers copied from 30).

What the automations produced is in `crm.AutomationLog`.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from crm.tenancy import TenantOwned

DEFAULT_RENEWAL_OFFSETS = [(90, False), (60, False), (30, True)]  # (days, copy managers)


class CadenceStep(TenantOwned):
    """One planned follow-up of a stage: "Check the proposal was read", 2 days after entry."""

    stage = models.ForeignKey(
        "pipeline.Stage", on_delete=models.CASCADE, related_name="cadence_steps", db_index=False
    )
    offset_days = models.PositiveSmallIntegerField(
        "days after entering the stage",
        validators=[MinValueValidator(0), MaxValueValidator(365)],
    )
    title = models.CharField("task", max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "stage", "offset_days", "title"],
                name="cadencestep_tenant_stage_unique",
                violation_error_message="This stage already plans that task on that day.",
            )
        ]
        ordering = ["offset_days", "id"]

    def __str__(self) -> str:
        return f"{self.title} (+{self.offset_days} d)"


class RenewalOffset(TenantOwned):
    """A renewal notice `days` before a contract ends."""

    days = models.PositiveSmallIntegerField(
        "days before the contract ends", validators=[MinValueValidator(1), MaxValueValidator(730)]
    )
    copy_managers = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "days"], name="renewaloffset_tenant_days_unique"
            )
        ]
        ordering = ["-days"]

    def __str__(self) -> str:
        return f"{self.days} days before the contract ends"
