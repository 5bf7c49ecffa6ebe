"""What tenant admins configure: pipelines, lost reasons, the rotting period, and a new
tenant's defaults. Stages and their criteria are in `pipeline.services.stages`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from contacts.services.common import clean_model, require_same_tenant
from crm.audit import diff, record_event
from crm.models import Tenant, User
from crm.tenancy import current_tenant
from pipeline.models import LostReason, Pipeline, PipelineSettings, Stage, StageCriterion

# Settings


def pipeline_settings() -> PipelineSettings:
    """The current tenant's settings row (created with the defaults when missing)."""
    found = PipelineSettings.objects.first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return PipelineSettings.objects.create(tenant=current_tenant())
    except IntegrityError:  # created by a concurrent request
        return PipelineSettings.objects.get()


def set_rotting_days(*, by: User, days: int) -> PipelineSettings:
    """Set after how many days without activity an open deal counts as stale (1–365)."""
    settings = pipeline_settings()
    old = settings.rotting_days
    settings.rotting_days = days
    clean_model(settings, skip=["tenant"])
    if old == days:
        return settings
    with transaction.atomic():
        settings.save(update_fields=["rotting_days"])
        record_event(
            actor=by,
            verb="pipeline_settings.updated",
            target=settings,
            changes={"rotting_days": [old, days]},
        )
    return settings


# Pipelines


def _check_pipeline_name(name: str, *, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the pipeline a name."})
    if Pipeline.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        raise ValidationError({"name": "Another pipeline already has this name."})
    return name


def create_pipeline(*, by: User, name: str, kind: str = Pipeline.Kind.SALES) -> Pipeline:
    """Add a pipeline with three stages to start from: New, Won and Lost."""
    name = _check_pipeline_name(name)
    if kind not in Pipeline.Kind.values:
        raise ValidationError({"kind": "Choose one of the pipeline kinds."})
    position = (Pipeline.objects.aggregate(m=Max("position"))["m"] or 0) + 1
    with transaction.atomic():
        pipeline = Pipeline.objects.create(
            tenant=current_tenant(), name=name, kind=kind, position=position
        )
        for i, (stage_name, stage_kind, probability) in enumerate(
            [
                ("New", Stage.Kind.OPEN, 10),
                ("Won", Stage.Kind.WON, 100),
                ("Lost", Stage.Kind.LOST, 0),
            ]
        ):
            Stage.objects.create(
                tenant=pipeline.tenant,
                pipeline=pipeline,
                name=stage_name,
                kind=stage_kind,
                probability=probability,
                position=i,
            )
        record_event(
            actor=by,
            verb="pipeline.created",
            target=pipeline,
            changes={"name": [None, name], "kind": [None, kind]},
        )
    return pipeline


def update_pipeline(pipeline: Pipeline, *, by: User, name: str, kind: str) -> Pipeline:
    require_same_tenant(pipeline, field="pipeline")
    name = _check_pipeline_name(name, exclude_pk=pipeline.pk)
    if kind not in Pipeline.Kind.values:
        raise ValidationError({"kind": "Choose one of the pipeline kinds."})
    before = {"name": pipeline.name, "kind": pipeline.kind}
    pipeline.name, pipeline.kind = name, kind
    changes = diff(before, {"name": name, "kind": kind})
    if changes:
        with transaction.atomic():
            pipeline.save(update_fields=["name", "kind"])
            record_event(actor=by, verb="pipeline.updated", target=pipeline, changes=changes)
    return pipeline


# Lost reasons


def _check_reason_label(label: str, *, exclude_pk: int | None = None) -> str:
    label = (label or "").strip()
    if not label:
        raise ValidationError({"label": "Write the reason."})
    if len(label) > 80:
        raise ValidationError({"label": "Use at most 80 characters."})
    if LostReason.objects.filter(label__iexact=label).exclude(pk=exclude_pk).exists():
        raise ValidationError({"label": "That reason is already on the list."})
    return label


def create_lost_reason(*, by: User, label: str) -> LostReason:
    label = _check_reason_label(label)
    position = (LostReason.objects.aggregate(m=Max("position"))["m"] or 0) + 1
    with transaction.atomic():
        reason = LostReason.objects.create(tenant=current_tenant(), label=label, position=position)
        record_event(
            actor=by, verb="lost_reason.created", target=reason, changes={"label": [None, label]}
        )
    return reason


def update_lost_reason(reason: LostReason, *, by: User, label: str, is_active: bool) -> LostReason:
    """Rename or retire a reason; deals that have it keep it (a retired one is not offered)."""
    require_same_tenant(reason, field="reason")
    label = _check_reason_label(label, exclude_pk=reason.pk)
    changes = diff(
        {"label": reason.label, "is_active": reason.is_active},
        {"label": label, "is_active": is_active},
    )
    if changes:
        reason.label, reason.is_active = label, is_active
        with transaction.atomic():
            reason.save(update_fields=["label", "is_active"])
            record_event(actor=by, verb="lost_reason.updated", target=reason, changes=changes)
    return reason


# Defaults for a new tenant

DEFAULT_LOST_REASONS = [
    "Price too high",
    "Chose a competitor",
    "No budget",
    "No decision (went silent)",
    "Bad timing",
    "Missing features",
    "Not a fit",
    "Other",
]

# (name, kind, probability, max dwell days, [criteria as (when, kind, field or activity kind, scope)])
SALES_STAGES: list[tuple[str, str, int, int | None, list[tuple[str, str, str, str]]]] = [
    ("New lead", "open", 10, 7, []),
    (
        "Qualified",
        "open",
        25,
        14,
        [
            ("entry", "field", "budget", ""),
            ("entry", "field", "authority", ""),
            ("entry", "field", "need", ""),
            ("entry", "field", "timeline", ""),
        ],
    ),
    ("Discovery", "open", 40, 21, [("exit", "activity", "meeting", "in_stage")]),
    (
        "Proposal",
        "open",
        60,
        14,
        [("entry", "field", "amount", ""), ("entry", "field", "expected_close", "")],
    ),
    ("Negotiation", "open", 80, 21, []),
    ("Won", "won", 100, None, [("entry", "field", "amount", "")]),
    ("Lost", "lost", 0, None, []),
]
ONBOARDING_STAGES: list[tuple[str, str, int, int | None, list[tuple[str, str, str, str]]]] = [
    ("Contract signed", "open", 10, 5, [("entry", "field", "contract_start", "")]),
    ("Kickoff scheduled", "open", 25, 10, [("exit", "activity", "meeting", "in_stage")]),
    ("Setup in progress", "open", 45, 30, []),
    ("Training completed", "open", 65, 14, [("entry", "activity", "meeting", "ever")]),
    ("Go-live", "open", 80, 7, []),
    ("30-day review", "open", 90, 30, [("exit", "activity", "meeting", "in_stage")]),
    ("Onboarded", "won", 100, None, []),
    ("Cancelled", "lost", 0, None, []),
]


def _create_pipeline_with_stages(
    tenant: Tenant, *, name: str, kind: str, position: int, stages: list
) -> Pipeline:
    pipeline = Pipeline.objects.create(tenant=tenant, name=name, kind=kind, position=position)
    for i, (stage_name, stage_kind, probability, dwell, criteria) in enumerate(stages):
        stage = Stage.objects.create(
            tenant=tenant,
            pipeline=pipeline,
            name=stage_name,
            kind=stage_kind,
            probability=probability,
            max_dwell_days=dwell,
            position=i,
        )
        StageCriterion.objects.bulk_create(
            [
                StageCriterion(
                    tenant=tenant,
                    stage=stage,
                    when=when,
                    kind=kind_,
                    field_name=target if kind_ == "field" else "",
                    activity_kind=target if kind_ == "activity" else "",
                    activity_scope=scope,
                )
                for when, kind_, target, scope in criteria
            ]
        )
    return pipeline


def create_default_pipelines(*, tenant: Tenant, by: User | None) -> list[Pipeline]:
    """A new tenant's sales and onboarding pipelines, lost reasons and settings.

    Runs with the tenant current (KEEL_TENANT_SETUP, and the demo seeder for tenants
    created before pipelines existed). Adds only what is missing, so running it again
    changes nothing.
    """
    created = []
    with transaction.atomic():
        if not PipelineSettings.objects.exists():
            PipelineSettings.objects.create(tenant=tenant)
        if not LostReason.objects.exists():
            LostReason.objects.bulk_create(
                [
                    LostReason(tenant=tenant, label=label, position=i)
                    for i, label in enumerate(DEFAULT_LOST_REASONS)
                ]
            )
        existing = set(Pipeline.objects.values_list("kind", flat=True))
        for position, (name, kind, stages) in enumerate(
            [
                ("Sales", Pipeline.Kind.SALES, SALES_STAGES),
                ("Onboarding", Pipeline.Kind.ONBOARDING, ONBOARDING_STAGES),
            ]
        ):
            if kind in existing:
                continue
            pipeline = _create_pipeline_with_stages(
                tenant, name=name, kind=kind, position=position, stages=stages
            )
            created.append(pipeline)
            record_event(
                actor=by, verb="pipeline.created", target=pipeline, changes={"name": [None, name]}
            )
    return created
