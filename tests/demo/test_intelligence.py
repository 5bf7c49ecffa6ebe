"""The demo seeder: every quadrant has accounts, a few customers are at risk with their
owner told and a follow-up task waiting, 60 days of history; a second run adds nothing."""

from __future__ import annotations

import io

from django.db.models import Q

from contacts.models import Task
from crm.models import Notification
from demo import automations as automation_demo
from demo import contacts as contacts_demo
from demo import intelligence as demo
from demo import pipeline as pipeline_demo
from intelligence import values
from intelligence.models import AccountPotential, ChurnState, HealthScore, Quadrant
from reporting.periods import local_today


def _members(org):
    return {m.user.email: m for m in (org.admin, org.manager, org.rep, org.rep2)}


def _seed(org, out=None):
    out = out or io.StringIO()
    demo.seed(tenant=org.tenant, members=_members(org), stdout=out)
    return out.getvalue()


def test_the_demo_fills_every_quadrant_and_puts_a_few_customers_at_risk(tenant_a):
    org = tenant_a
    for seeder in (contacts_demo, pipeline_demo, automation_demo):
        seeder.seed(tenant=org.tenant, members=_members(org), stdout=io.StringIO())
    _seed(org)
    today = local_today(org.tenant.tz)
    settings = values.intelligence_settings()
    matrix = values.value_matrix(today=today, tz=org.tenant.tz, settings=settings)
    assert all(matrix.by_quadrant()[q] for q in Quadrant.values)
    at_risk = list(ChurnState.objects.filter(at_risk=True).select_related("organization", "task"))
    assert 4 <= len(at_risk) <= 15
    for state in at_risk:
        assert state.since == today
        assert state.task.assignee_id == state.organization.owner_id
        assert state.task.source == Task.Source.AUTOMATION and state.task.is_open
        # Told once: alone, or in one digest with the owner's other customers at risk.
        [told] = Notification.objects.filter(
            kind="churn_risk", recipient_id=state.organization.owner_id
        ).filter(Q(key=state.key) | Q(body__contains=f"• {state.organization.name}: "))
        assert told.read_at is None
    # The slipping customers have a history that shows the fall, and the reasons in words.
    shaped = {
        int(k.split(":")[2])
        for k in Task.objects.filter(source_key__startswith=demo.MARK).values_list(
            "source_key", flat=True
        )
    }
    assert shaped and shaped <= {s.organization_id for s in at_risk}
    for org_id in shaped:
        history = list(HealthScore.objects.filter(organization_id=org_id).order_by("day"))
        assert len(history) == demo.HISTORY_DAYS + 1
        assert history[0].score - history[-1].score >= 30
        words = [p["words"] for p in history[-1].components if p["points"]]
        assert any(w.endswith(" overdue tasks") for w in words)
        assert any("with no renewal deal" in w for w in words)

    counts = (
        AccountPotential.objects.count(),
        Task.objects.count(),
        Notification.objects.count(),
        HealthScore.objects.count(),
    )
    out = _seed(org)
    assert "already shaped" in out
    assert counts == (
        AccountPotential.objects.count(),
        Task.objects.count(),
        Notification.objects.count(),
        HealthScore.objects.count(),
    )
