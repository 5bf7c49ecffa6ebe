"""A pipeline's stages and their entry and exit criteria, as tenant admins configure them.

Every pipeline keeps exactly one won and one lost stage, after its open stages;
probabilities stay within 0–100 (won is 100, lost 0). A stage with deals is removed only
by moving its deals elsewhere; a stage with history is archived, not deleted, so past
figures still add up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from contacts.models import Activity
from contacts.services.common import check_fields, clean_model, require_same_tenant
from crm.audit import diff, record_event
from crm.models import User
from crm.tenancy import current_tenant
from pipeline.criterion_text import is_custom_field
from pipeline.models import Deal, Pipeline, Stage, StageCriterion, StageTransition
from pipeline.services.common import dwell_due

STAGE_FIELDS = ["name", "probability", "max_dwell_days", "kind"]
ACTIVITY_KINDS = [*Activity.Kind.values, StageCriterion.ANY_ACTIVITY]


# Stages


def _prepare_stage(stage: Stage) -> None:
    stage.name = (stage.name or "").strip()
    if not stage.name:
        raise ValidationError({"name": "Give the stage a name."})
    if stage.probability is None or not 0 <= stage.probability <= 100:
        raise ValidationError({"probability": "Use a probability between 0 and 100 %."})
    if stage.kind not in Stage.Kind.values:
        raise ValidationError({"kind": "Choose open, won or lost."})
    if stage.kind == Stage.Kind.WON:
        stage.probability = 100
    elif stage.kind == Stage.Kind.LOST:
        stage.probability = 0
    if stage.is_terminal:
        stage.max_dwell_days = None  # a closed deal does not go stale
    others = Stage.objects.active().filter(pipeline_id=stage.pipeline_id).exclude(pk=stage.pk)
    if others.filter(name__iexact=stage.name).exists():
        raise ValidationError({"name": "This pipeline already has a stage with that name."})
    if stage.is_terminal and others.filter(kind=stage.kind).exists():
        raise ValidationError(
            {"kind": f"A pipeline has exactly one {stage.kind} stage; it already has one."}
        )
    clean_model(stage, skip=["tenant", "pipeline"])


def _renumber(pipeline: Pipeline, ordered: Sequence[Stage]) -> None:
    """Positions 0…n in the given order, then won, then lost."""
    rank = {Stage.Kind.OPEN: 0, Stage.Kind.WON: 1, Stage.Kind.LOST: 2}
    ordered = sorted(ordered, key=lambda s: rank[s.kind])  # stable: keeps the open order
    for i, stage in enumerate(ordered):
        if stage.position != i:
            stage.position = i
            Stage.objects.filter(pk=stage.pk).update(position=i)


def create_stage(
    pipeline: Pipeline,
    *,
    by: User,
    name: str,
    probability: int = 0,
    max_dwell_days: int | None = None,
    kind: str = Stage.Kind.OPEN,
) -> Stage:
    """Add a stage; an open stage goes after the other open ones, before won and lost."""
    require_same_tenant(pipeline, field="pipeline")
    stage = Stage(
        tenant=current_tenant(),
        pipeline=pipeline,
        name=name,
        probability=probability,
        max_dwell_days=max_dwell_days,
        kind=kind,
        position=10_000,
    )
    _prepare_stage(stage)
    with transaction.atomic():
        stage.save()
        others = Stage.objects.active().filter(pipeline=pipeline).exclude(pk=stage.pk)
        _renumber(pipeline, [*others, stage])
        record_event(
            actor=by,
            verb="stage.created",
            target=stage,
            changes={k: [None, getattr(stage, k)] for k in STAGE_FIELDS},
        )
    return stage


def update_stage(stage: Stage, *, by: User, **fields: Any) -> Stage:
    """Rename a stage, set its probability, dwell limit or kind.

    Refuses a second won or lost stage, and taking away the pipeline's only won or lost
    stage. A new dwell limit applies to the deals already in the stage.
    """
    check_fields(Stage, fields, set(STAGE_FIELDS))
    require_same_tenant(stage, field="stage")
    before = {k: getattr(stage, k) for k in STAGE_FIELDS}
    for name, value in fields.items():
        setattr(stage, name, value)
    if before["kind"] != stage.kind and before["kind"] != Stage.Kind.OPEN:
        raise ValidationError(
            {"kind": f"A pipeline needs its {before['kind']} stage; add another one first."}
        )
    if before["kind"] != stage.kind and stage.deals.exists():
        raise ValidationError({"kind": "Move this stage's deals first: their status would change."})
    _prepare_stage(stage)
    changes = diff(before, {k: getattr(stage, k) for k in STAGE_FIELDS})
    if not changes:
        return stage
    with transaction.atomic():
        stage.save(update_fields=STAGE_FIELDS)
        if "max_dwell_days" in changes:
            _refresh_dwell_due(stage)
        if "kind" in changes:
            _renumber(stage.pipeline, list(Stage.objects.active().filter(pipeline=stage.pipeline)))
        record_event(actor=by, verb="stage.updated", target=stage, changes=changes)
    return stage


def _refresh_dwell_due(stage: Stage) -> None:
    deals = Deal.objects.filter(stage=stage, status=Deal.Status.OPEN)
    if stage.max_dwell_days:
        deals.update(dwell_due_at=F("stage_entered_at") + timedelta(days=stage.max_dwell_days))
    else:
        deals.update(dwell_due_at=None)


def reorder_stages(pipeline: Pipeline, *, by: User, stage_ids: Sequence[int]) -> list[Stage]:
    """Put the pipeline's open stages in the given order (won and lost stay last).

    `stage_ids` lists every active stage of the pipeline (terminal ones may be omitted).
    """
    require_same_tenant(pipeline, field="pipeline")
    stages = {s.pk: s for s in Stage.objects.active().filter(pipeline=pipeline)}
    ids = [int(i) for i in stage_ids if int(i) in stages and not stages[int(i)].is_terminal]
    open_ids = {pk for pk, s in stages.items() if not s.is_terminal}
    if set(ids) != open_ids or len(ids) != len(open_ids) or len(stage_ids) > len(stages):
        raise ValidationError("List every open stage of this pipeline exactly once.")
    before = [s.pk for s in sorted(stages.values(), key=lambda s: s.position)]
    terminal = [s for s in stages.values() if s.is_terminal]
    with transaction.atomic():
        _renumber(pipeline, [stages[i] for i in ids] + terminal)
        after = [s.pk for s in sorted(stages.values(), key=lambda s: s.position)]
        if before != after:
            record_event(
                actor=by,
                verb="pipeline.stages_reordered",
                target=pipeline,
                changes={"order": [before, after]},
            )
    return sorted(stages.values(), key=lambda s: s.position)


def delete_stage(stage: Stage, *, by: User, move_deals_to: Stage | None = None) -> int:
    """Remove a stage. Its deals, if any, move to `move_deals_to` first; returns how many.

    Refuses: removing a pipeline's won or lost stage, a stage with deals and no target, a
    target that is the stage itself, closed, or in another pipeline. Moving deals this way
    is an admin's restructuring, not a sale progressing: the criteria are not checked, and
    each transition records why. A stage with history is archived so that past figures
    still find it; one that was never used is deleted.
    """
    require_same_tenant(stage, field="stage")
    if stage.is_terminal:
        raise ValidationError(f"A pipeline needs its {stage.kind} stage; it cannot be removed.")
    if Stage.objects.active().filter(pipeline_id=stage.pipeline_id, kind="open").count() == 1:
        raise ValidationError("A pipeline needs at least one open stage.")
    with transaction.atomic():
        deals = list(Deal.objects.select_for_update().filter(stage=stage))
        if deals:
            _check_target(stage, move_deals_to, count=len(deals))
            _move_all(deals, stage=stage, to=move_deals_to, by=by)
        used = (
            StageTransition.objects.filter(to_stage=stage).exists()
            or StageTransition.objects.filter(from_stage=stage).exists()
        )
        record_event(
            actor=by,
            verb="stage.deleted",
            target=stage,
            changes={
                "name": [stage.name, None],
                "moved_deals": [None, len(deals)],
                "moved_to": [None, move_deals_to.pk if deals else None],
            },
        )
        if used:
            stage.archived_at = timezone.now()
            stage.save(update_fields=["archived_at"])
        else:
            stage.delete()
        _renumber(
            stage.pipeline, list(Stage.objects.active().filter(pipeline_id=stage.pipeline_id))
        )
    return len(deals)


def _check_target(stage: Stage, target: Stage | None, *, count: int) -> None:
    if target is None:
        raise ValidationError(
            {"move_deals_to": f"{stage} has {count} deal(s); choose where they go."}
        )
    require_same_tenant(target, field="move_deals_to")
    if (
        target.pk == stage.pk
        or target.pipeline_id != stage.pipeline_id
        or target.archived_at is not None
        or target.is_terminal
    ):
        raise ValidationError({"move_deals_to": "Choose another open stage of the same pipeline."})


def _move_all(deals: list[Deal], *, stage: Stage, to: Stage, by: User) -> None:
    now = timezone.now()
    reason = f"Stage “{stage.name}” was removed by {by}."
    StageTransition.objects.bulk_create(
        [
            StageTransition(
                tenant=current_tenant(),
                deal=d,
                from_stage=stage,
                to_stage=to,
                at=now,
                by=by,
                seconds_in_stage=max(0, int((now - d.stage_entered_at).total_seconds())),
                override_reason=reason,
                overridden=[{"code": "rule:stage_removed", "label": reason}],
            )
            for d in deals
        ]
    )
    Deal.objects.filter(pk__in=[d.pk for d in deals]).update(
        stage=to,
        stage_entered_at=now,
        dwell_due_at=dwell_due(to, now),
        version=F("version") + 1,
        updated_by=by,
        updated_at=now,
    )


# Criteria


def add_criterion(
    stage: Stage,
    *,
    by: User,
    when: str,
    kind: str,
    field_name: str = "",
    activity_kind: str = "",
    activity_scope: str = "",
    min_count: int = 1,
) -> StageCriterion:
    """Require a field or an activity to enter or to leave `stage`.

    A field is a built-in one (Deal.CRITERION_FIELDS) or `custom:<key>`. Refuses an exit
    criterion on a won or lost stage (closed deals do not leave by the rules) and a
    criterion the stage already has.
    """
    require_same_tenant(stage, field="stage")
    if when not in StageCriterion.When.values:
        raise ValidationError({"when": "Choose entry or exit."})
    if when == "exit" and stage.is_terminal:
        raise ValidationError({"when": "Won and lost stages have no exit criteria."})
    if kind == StageCriterion.Kind.FIELD:
        if field_name not in Deal.CRITERION_FIELDS and not is_custom_field(field_name):
            raise ValidationError({"field_name": "Choose one of the deal fields."})
        activity_kind, activity_scope, min_count = "", "", 1
    elif kind == StageCriterion.Kind.ACTIVITY:
        if activity_kind not in ACTIVITY_KINDS:
            raise ValidationError({"activity_kind": "Choose a kind of activity."})
        if activity_scope not in StageCriterion.Scope.values:
            raise ValidationError({"activity_scope": "Choose when the activity must be logged."})
        field_name = ""
    else:
        raise ValidationError({"kind": "Choose a required field or a required activity."})
    criterion = StageCriterion(
        tenant=current_tenant(),
        stage=stage,
        when=when,
        kind=kind,
        field_name=field_name,
        activity_kind=activity_kind,
        activity_scope=activity_scope,
        min_count=min_count,
    )
    clean_model(criterion, skip=["tenant", "stage"])
    duplicate = StageCriterion.objects.filter(
        stage=stage, when=when, kind=kind, field_name=field_name, activity_kind=activity_kind
    )
    if duplicate.exists():
        raise ValidationError("This stage already has that criterion.")
    with transaction.atomic():
        criterion.save()
        record_event(
            actor=by,
            verb="stage.criterion_added",
            target=stage,
            changes={"criterion": [None, criterion.describe(stage.name)], "when": [None, when]},
        )
    return criterion


def remove_criterion(criterion: StageCriterion, *, by: User) -> None:
    require_same_tenant(criterion, field="criterion")
    with transaction.atomic():
        record_event(
            actor=by,
            verb="stage.criterion_removed",
            target=criterion.stage,
            changes={"criterion": [criterion.describe(), None], "when": [criterion.when, None]},
        )
        criterion.delete()
