"""What the pipeline settings pages read: pipelines, their stages with deal counts, lost
reasons."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from pipeline.models import Deal, LostReason, Pipeline, Stage, StageCriterion


def pipelines_with_stages() -> QuerySet[Pipeline]:
    return Pipeline.objects.prefetch_related("stages")


def pipeline_stages(pipeline: Pipeline) -> list[Stage]:
    """The pipeline's stages in use, in order, with their criteria, each marked with
    `deal_count` and whether it is the first or last open stage. Three queries."""
    stages = list(Stage.objects.active().filter(pipeline=pipeline).prefetch_related("criteria"))
    counts = dict(
        Deal.objects.filter(stage__in=stages)
        .order_by()
        .values_list("stage_id")
        .annotate(n=Count("pk"))
    )
    open_ids = [s.pk for s in stages if not s.is_terminal]
    for stage in stages:
        stage.deal_count = counts.get(stage.pk, 0)
        stage.is_first_open = bool(open_ids) and stage.pk == open_ids[0]
        stage.is_last_open = bool(open_ids) and stage.pk == open_ids[-1]
    return stages


def open_stage_ids(pipeline: Pipeline) -> list[int]:
    """The open stages' ids in their order (what a reorder starts from)."""
    return list(
        Stage.objects.active().filter(pipeline=pipeline, kind="open").values_list("pk", flat=True)
    )


def criteria_of(stage: Stage) -> list[StageCriterion]:
    return list(stage.criteria.all())


def deal_count(stage: Stage) -> int:
    return Deal.objects.filter(stage=stage).count()


def lost_reasons() -> QuerySet[LostReason]:
    return LostReason.objects.all()
