"""Follow-up cadences: entering a stage plans its tasks, leaving it cancels the open ones.

`create_deal` and `move_deal` call `apply_cadence` inside their transaction, so a move
and its tasks commit together. Each cadence task is a contacts Task with source
"cadence" and a source key naming the deal, the stage visit (its transition) and the
step, so it is created at most once per visit.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contacts import services as contact_services
from contacts.models import Task
from contacts.services.common import require_same_tenant
from crm.audit import record_event
from crm.automation import active_member, log_once, positive_int, url_for
from crm.models import Automation, User
from crm.tenancy import current_tenant
from pipeline.models import CadenceStep, Deal, DealTask, Stage, StageTransition
from pipeline.services.deal_tasks import create_deal_task


def cadence_key_prefix(deal: Deal) -> str:
    return f"cadence:deal-{deal.pk}:"


def cadence_key(deal: Deal, transition: StageTransition, step: CadenceStep) -> str:
    return f"{cadence_key_prefix(deal)}visit-{transition.pk}:step-{step.pk}"


def open_cadence_tasks(deal: Deal):
    task_ids = DealTask.objects.filter(deal=deal).values("task_id")
    return Task.objects.filter(
        pk__in=task_ids,
        source=Task.Source.CADENCE,
        source_key__startswith=cadence_key_prefix(deal),
        done_at__isnull=True,
        cancelled_at__isnull=True,
    )


def apply_cadence(deal: Deal, *, transition: StageTransition, by: User | None) -> list[Task]:
    """Cancel the deal's open cadence tasks from earlier stage visits and plan the tasks
    of the stage it just entered (due `offset_days` after entering). Returns the new ones.

    A deal whose owner is not an active member gets no tasks (nobody could do them).
    """
    this_visit = f"{cadence_key_prefix(deal)}visit-{transition.pk}:"
    for task in open_cadence_tasks(deal).exclude(source_key__startswith=this_visit):
        contact_services.cancel_task(task, by=by)
    steps = list(CadenceStep.objects.filter(stage_id=transition.to_stage_id))
    owner = active_member(deal.owner_id)
    if not steps or owner is None:
        return []
    return [_plan(deal, transition=transition, step=step, owner=owner, by=by) for step in steps]


def _plan(
    deal: Deal, *, transition: StageTransition, step: CadenceStep, owner: User, by: User | None
) -> Task:
    task = create_deal_task(
        deal,
        by=by,
        title=step.title,
        due_at=transition.at + timedelta(days=step.offset_days),
        assignee=owner,
        notes=f"Planned by the follow-up cadence of {transition.to_stage.name}.",
        source=Task.Source.CADENCE,
        source_key=cadence_key(deal, transition, step),
    )
    # The log makes every automation countable the same way (METRICS.md automation_runs).
    log_once(
        automation=Automation.CADENCE,
        subject=task,
        window=transition.at,
        user=owner,
        summary=f"{deal.name}: “{step.title}” planned for {owner} (+{step.offset_days} d)",
        url=url_for("pipeline:deal-detail", deal.pk),
        detail={"deal": deal.pk, "stage": transition.to_stage_id, "step": step.pk},
    )
    return task


# Configuration (admins)


def add_cadence_step(stage: Stage, *, by: User, offset_days: int, title: str) -> CadenceStep:
    """Plan a task `offset_days` (0–365) after a deal enters `stage`."""
    require_same_tenant(stage, field="stage")
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "Say what the task is."})
    if len(title) > 200:
        raise ValidationError({"title": "Use at most 200 characters."})
    offset_days = positive_int(offset_days, field="offset_days", low=0, high=365)
    if stage.archived_at is not None:
        raise ValidationError({"stage": "This stage was removed."})
    try:
        with transaction.atomic():
            step = CadenceStep.objects.create(
                tenant=current_tenant(), stage=stage, offset_days=offset_days, title=title
            )
            record_event(
                actor=by,
                verb="stage.cadence_step_added",
                target=stage,
                changes={"cadence_step": [None, f"+{offset_days} d: {title}"]},
            )
    except IntegrityError:
        raise ValidationError("This stage already plans that task on that day.") from None
    return step


def remove_cadence_step(step: CadenceStep, *, by: User) -> None:
    """Stop planning a step; tasks it already created stay."""
    with transaction.atomic():
        record_event(
            actor=by,
            verb="stage.cadence_step_removed",
            target=step.stage,
            changes={"cadence_step": [f"+{step.offset_days} d: {step.title}", None]},
        )
        step.delete()
