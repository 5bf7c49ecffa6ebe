"""The demo seeder: a year of deals with consistent stage histories, run once."""

from __future__ import annotations

import io
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from demo import contacts as contacts_demo
from demo import pipeline as demo
from pipeline.models import Deal, DealActivity, Pipeline, StageTransition
from pipeline.selectors.common import rotting_days, stale_q


def _members(org) -> dict:
    return {
        f"{name}@demo.keel.test": getattr(org, name) for name in ("admin", "manager", "rep", "rep2")
    }


def test_the_demo_year_is_consistent_and_seeded_once(tenant_a):
    out = io.StringIO()
    members = _members(tenant_a)
    contacts_demo.seed(tenant=tenant_a.tenant, members=members, stdout=out)
    demo.seed(tenant=tenant_a.tenant, members=members, stdout=out)
    now = timezone.now()
    deals = Deal.objects.select_related("stage")
    assert deals.count() > 300
    assert {"open", "won", "lost"} <= set(deals.values_list("status", flat=True))
    # Every deal's history starts with its creation and ends in its current stage.
    last = {}
    for t in StageTransition.objects.order_by("deal_id", "at", "id"):
        if t.deal_id not in last:
            assert t.from_stage_id is None
        else:
            assert t.from_stage_id == last[t.deal_id].to_stage_id
            assert t.seconds_in_stage == int((t.at - last[t.deal_id].at).total_seconds())
        last[t.deal_id] = t
    for deal in deals:
        assert last[deal.pk].to_stage_id == deal.stage_id
        assert last[deal.pk].at == deal.stage_entered_at
    won = deals.filter(status="won", pipeline__kind="sales")
    assert all(d.contract_start and d.contract_end and d.amount for d in won)
    assert won.filter(
        contract_end__lte=(now + timedelta(days=90)).date(), contract_end__gte=now.date()
    ).exists()
    assert all(d.lost_reason_id for d in deals.filter(status="lost"))
    # Deals past Qualified carry what Qualified asked for.
    for deal in deals.filter(stage__name__in=["Discovery", "Proposal", "Negotiation"]):
        assert deal.budget and deal.authority and deal.need and deal.timeline
    assert deals.filter(status="open").filter(stale_q(now=now, rotting=rotting_days())).exists()
    assert DealActivity.objects.exists()
    assert Pipeline.objects.get(kind="onboarding").deals.exists()
    # The demo rep has leads to qualify: dragging one to Qualified shows the dialog.
    rep_leads = deals.filter(owner=tenant_a.rep.user, stage__name="New lead", budget__isnull=True)
    assert rep_leads.count() >= 3
    before = dict(Deal.objects.values("status").annotate(n=Count("pk")).values_list("status", "n"))
    demo.seed(tenant=tenant_a.tenant, members=members, stdout=out)
    after = dict(Deal.objects.values("status").annotate(n=Count("pk")).values_list("status", "n"))
    assert before == after
    assert "already present" in out.getvalue()


def test_the_seeder_adds_the_pipelines_to_an_existing_tenant(tenant_a):
    out = io.StringIO()
    demo.seed(tenant=tenant_a.tenant, members=_members(tenant_a), stdout=out)
    assert Pipeline.objects.filter(kind="sales").exists()
    assert "no organizations" in out.getvalue()
