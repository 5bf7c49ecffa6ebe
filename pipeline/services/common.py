"""What the pipeline services share: the refusals they raise and small checks."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError

from crm.models import Membership, User
from pipeline.criteria import Unmet
from pipeline.models import Deal, Stage


class StageCriteriaUnmet(ValidationError):
    """A move (or a new deal) does not meet its stage criteria. `unmet` lists every one.

    `can_override` says whether a manager may move anyway with a written reason (false
    when a non-overridable rule, such as the lost reason, is among them).
    """

    def __init__(self, *, deal: Deal, to_stage: Stage, unmet: list[Unmet]) -> None:
        super().__init__([u.label for u in unmet])
        self.deal = deal
        self.to_stage = to_stage
        self.unmet = unmet

    @property
    def can_override(self) -> bool:
        return all(u.overridable for u in self.unmet)

    @property
    def missing_fields(self) -> list[str]:
        return [u.field for u in self.unmet if u.kind == "field"]


class DealChanged(ValidationError):
    """Someone changed the deal after the caller read it; nothing was written."""

    def __init__(self, deal: Deal) -> None:
        who = deal.updated_by or "Someone"
        message = (
            f"{who} changed this deal a moment ago: it is now in {deal.stage.name}. "
            "Your change was not saved; review the deal and try again."
        )
        super().__init__(message, code="deal_changed")
        self.deal = deal


def is_manager(user: User | None) -> bool:
    """Whether `user` is an active manager or admin of the current tenant."""
    if user is None:
        return False
    membership = Membership.objects.filter(user_id=user.pk, is_active=True).first()
    return membership is not None and membership.is_manager


def dwell_due(stage: Stage, entered_at) -> object:
    """When a deal entering `stage` at `entered_at` passes its dwell limit (None: never)."""
    if stage.max_dwell_days and not stage.is_terminal:
        return entered_at + timedelta(days=stage.max_dwell_days)
    return None
