"""Reporting data: revenue targets, member activity days and daily snapshots.

Every model is tenant-owned; indexes and unique constraints lead with `tenant` and
foreign keys skip their own index. The figures themselves are never stored except in
snapshots, which freeze what cannot be reconstructed later (the weighted pipeline as it
stood at 00:00 of a day, with that day's amounts and close dates).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from crm.tenancy import TenantOwned


class RevenueTarget(TenantOwned):
    """What a manager expects to be won over `[start, end)`: tenant-wide, or one rep's.

    A target counts pro rata by days for a period it only partly overlaps, so a quarterly
    target gives a month a third or so of its amount. Targets of one scope (tenant-wide,
    or one owner) do not overlap; `reporting.services.save_target` refuses that.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="Empty for the whole team's target.",
    )
    start = models.DateField("first day")
    end = models.DateField("end (exclusive)")
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
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
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="target_end_after_start"),
            models.UniqueConstraint(
                fields=["tenant", "owner", "start"], name="target_tenant_owner_start_unique"
            ),
            # NULLs never collide, so tenant-wide targets need their own constraint.
            models.UniqueConstraint(
                fields=["tenant", "start"],
                condition=Q(owner__isnull=True),
                name="target_tenant_wide_start_unique",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "start", "end"], name="target_tenant_period_idx")]
        ordering = ["-start", "owner_id"]

    def __str__(self) -> str:
        return f"{self.owner or 'Team'}: {self.amount} from {self.start} to {self.last_day}"

    @property
    def last_day(self):
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days


class MemberActivityDay(TenantOwned):
    """A member used Keel on this day (tenant time): written at most once a day each."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField()
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "day"], name="activityday_tenant_user_day_unique"
            )
        ]
        indexes = [models.Index(fields=["tenant", "day"], name="activityday_tenant_day_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} active on {self.day}"


class Snapshot(TenantOwned):
    """The state at 00:00 of `day` (tenant time): one per tenant and day.

    `scorecard` holds the tenant-wide scorecard of the 30 days before `day` (the trend
    lines); the open deals of that instant are the `SnapshotDeal` rows. `source` says
    whether beat took it that night or the backfill reconstructed it from history.
    """

    class Source(models.TextChoices):
        LIVE = "live", "Taken that night"
        BACKFILL = "backfill", "Reconstructed from history"

    day = models.DateField()
    taken_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.LIVE)
    scorecard = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "day"], name="snapshot_tenant_day_unique")
        ]
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"Snapshot of {self.day}"


class SnapshotDeal(TenantOwned):
    """One deal open at the snapshot's instant, with the values that made up the forecast."""

    snapshot = models.ForeignKey(
        Snapshot, on_delete=models.CASCADE, related_name="deals", db_index=False
    )
    deal = models.ForeignKey(
        "pipeline.Deal", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    pipeline = models.ForeignKey(
        "pipeline.Pipeline", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    stage = models.ForeignKey(
        "pipeline.Stage", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    probability = models.PositiveSmallIntegerField()
    expected_close = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "snapshot", "deal"], name="snapshotdeal_tenant_snapshot_deal"
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "snapshot", "expected_close"], name="snapshotdeal_close_idx"
            ),
            models.Index(fields=["tenant", "deal"], name="snapshotdeal_deal_idx"),
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id} in snapshot {self.snapshot_id}"
