"""Pipelines, stages with their criteria, deals and their stage history.

Every model is tenant-owned: indexes and unique constraints lead with `tenant`, and
foreign keys skip their own index for that reason. A deal changes stage only through
`pipeline.services.move_deal`, which writes a `StageTransition`; the transitions (with
`Deal.created_at` and `Deal.closed_at`) let reports reconstruct any past instant: a deal
is open at T when created before T and not closed before T, and its stage at T is the
`to_stage` of its last transition before T (creation writes the first one).

One module per concern; import the models from here (`from pipeline.models import …`):
`config` (pipelines, stages, criteria, lost reasons, settings), `deals` (deals and what
hangs off them), `automation` (stage cadences, renewal offsets).
"""

from pipeline.models.automation import DEFAULT_RENEWAL_OFFSETS, CadenceStep, RenewalOffset
from pipeline.models.config import (
    DEFAULT_ROTTING_DAYS,
    LostReason,
    Pipeline,
    PipelineSettings,
    Stage,
    StageCriterion,
    StageManager,
    StageQuerySet,
)
from pipeline.models.deals import (
    Deal,
    DealActivity,
    DealContact,
    DealManager,
    DealQuerySet,
    DealSearchTerm,
    DealTask,
    StageTransition,
)

__all__ = [
    "DEFAULT_RENEWAL_OFFSETS",
    "DEFAULT_ROTTING_DAYS",
    "CadenceStep",
    "Deal",
    "DealActivity",
    "DealContact",
    "DealManager",
    "DealQuerySet",
    "DealSearchTerm",
    "DealTask",
    "LostReason",
    "Pipeline",
    "PipelineSettings",
    "RenewalOffset",
    "Stage",
    "StageCriterion",
    "StageManager",
    "StageQuerySet",
    "StageTransition",
]
