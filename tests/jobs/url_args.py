"""How the cross-tenant walker builds each automations URL that takes arguments: a callable
taking the conftest `Org` and returning kwargs for an object that belongs to that org."""

from __future__ import annotations

import uuid


def _rule(org) -> dict:
    from contacts.services.assignment import create_assignment_rule

    with org.activate():
        rule = create_assignment_rule(
            by=org.admin.user, name=f"Rule {uuid.uuid4().hex[:8]}", members=[org.rep.user]
        )
    return {"pk": rule.pk}


def _cadence_step(org) -> dict:
    from pipeline.models import CadenceStep
    from tests import factories

    with org.activate():
        step = CadenceStep.objects.create(
            tenant=org.tenant, stage=factories.StageFactory(), offset_days=2, title="Follow up"
        )
    return {"pk": step.pk}


URL_ARGS = {
    "automations:rule-edit": _rule,
    "automations:rule-delete": _rule,
    "automations:cadence-delete": _cadence_step,
}
