"""How the cross-tenant walker builds each pipeline URL that takes arguments: a callable
taking the conftest `Org` and returning kwargs for an object that belongs to that org."""

from __future__ import annotations

import uuid

from tests import factories


def _deal(org) -> dict:
    with org.activate():
        return {"pk": factories.DealFactory(owner=org.rep.user).pk}


def _stage(org) -> dict:
    with org.activate():
        return {"pk": factories.StageFactory().pk}


def _pipeline(org) -> dict:
    with org.activate():
        return {"pk": factories.PipelineFactory().pk}


def _criterion(org) -> dict:
    with org.activate():
        return {"pk": factories.StageCriterionFactory().pk}


def _lost_reason(org) -> dict:
    with org.activate():
        return {"pk": factories.LostReasonFactory().pk}


def _rule(org) -> dict:
    from contacts.services.assignment import create_assignment_rule

    with org.activate():
        rule = create_assignment_rule(
            by=org.admin.user, name=f"Rule {uuid.uuid4().hex[:8]}", members=[org.rep.user]
        )
    return {"pk": rule.pk}


def _cadence_step(org) -> dict:
    from pipeline.models import CadenceStep

    with org.activate():
        step = CadenceStep.objects.create(
            tenant=org.tenant, stage=factories.StageFactory(), offset_days=2, title="Follow up"
        )
    return {"pk": step.pk}


URL_ARGS = {
    "pipeline:board-column": _stage,
    "pipeline:deal-detail": _deal,
    "pipeline:deal-edit": _deal,
    "pipeline:deal-move": _deal,
    "pipeline:deal-log": _deal,
    "pipeline:deal-task-create": _deal,
    "pipeline:pipeline-edit": _pipeline,
    "pipeline:stage-create": _pipeline,
    "pipeline:stage-reorder": _pipeline,
    "pipeline:stage-edit": _stage,
    "pipeline:stage-delete": _stage,
    "pipeline:criterion-add": _stage,
    "pipeline:criterion-delete": _criterion,
    "pipeline:lost-reason-edit": _lost_reason,
    # Settings → Automations (pipeline.urls.automation_urls)
    "automations:rule-edit": _rule,
    "automations:rule-delete": _rule,
    "automations:cadence-delete": _cadence_step,
}
