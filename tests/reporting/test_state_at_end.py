"""The scorecard's grouped reading of the deals open at `end` equals the per-deal one.

`_deals_at_end` groups the open deals by their stage at `end` and over-limit flag (one
transition lookup per deal moved since), and pipeline hygiene, stale deals and the deals'
data completeness are sums over those groups. The per-deal reconstruction
(`with_stage_at`, `with_hygiene`, `deal_required_aggregates`: what the drill-downs and
the health breakdown list) must give the same numbers, deal kinds that take each branch
included: in their stage since before `end`, moved since with and without an earlier
transition, two transitions at the same instant, right at and just over a time limit.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from django.db.models import Count, Sum
from django.test import override_settings

from crm.models import Membership
from pipeline.models import DealTask, StageCriterion, StageTransition
from reporting import completeness
from reporting.periods import Period
from reporting.point_in_time import rotting_since, with_hygiene
from reporting.scorecards import (
    Scope,
    _deal_completeness,
    _deals_at_end,
    _hygiene,
    criteria_fields,
    deal_field_needs,
    deal_required_aggregates,
    open_deals_at,
)
from tests import factories
from tests.reporting.conftest import BERLIN, MARCH, berlin, make_book

END = berlin(2026, 4, 1)


def required(tenant):
    return {"contact": [], "organization": [], "deal": ["amount", "owner"]}


@pytest.fixture
def deals(tenant_a, book):
    """Sales: Lead (7 days), Proposal (no limit); Onboarding: Lead (3 days), Proposal (30)."""
    Membership.objects.update(created_at=berlin(2025, 1, 1))
    rep, rep2 = tenant_a.rep.user, tenant_a.rep2.user
    onboarding = make_book("Onboarding", kind="onboarding")
    onboarding.lead.max_dwell_days = 3
    onboarding.lead.save()
    onboarding.proposal.max_dwell_days = 30
    onboarding.proposal.save()
    StageCriterion.objects.create(
        stage=book.proposal, when="entry", kind="field", field_name="budget"
    )
    StageCriterion.objects.create(
        stage=onboarding.proposal, when="entry", kind="field", field_name="custom:po_number"
    )
    StageCriterion.objects.create(
        stage=book.lead, when="entry", kind="field", field_name="gone_field"
    )
    feb = berlin(2026, 2, 1)

    def task(deal, done=None):
        t = factories.TaskFactory(created_at=berlin(2026, 3, 1), done_at=done)
        DealTask.objects.create(deal=deal, task=t)

    def activity(deal, at):
        a = factories.ActivityFactory(contact=None, organization=deal.organization, occurred_at=at)
        factories.DealActivityFactory(deal=deal, activity=a)

    for b in (book, onboarding):
        # In their stage since before the end: over and within the limit.
        task(b.deal(created=berlin(2026, 3, 2), owner=rep))
        task(b.deal(created=berlin(2026, 3, 30), owner=rep2, amount=None))
        b.deal(created=feb, moves=[(b.proposal, berlin(2026, 2, 20))], budget=5, owner=rep)
        activity(b.deals[-1], berlin(2026, 3, 25))
        b.deal(
            created=feb, moves=[(b.proposal, berlin(2026, 3, 3))], custom_fields={"po_number": "7"}
        )
        # Moved after the end: their stage at the end is the one before.
        d = b.deal(
            created=feb, moves=[(b.proposal, berlin(2026, 3, 10)), (b.lead, berlin(2026, 4, 2))]
        )
        task(d, done=berlin(2026, 4, 3))
        b.deal(created=berlin(2026, 3, 29), owner=rep, moves=[(b.proposal, berlin(2026, 4, 5))])
        # Moved after the end, no transition before it: its stage and creation time.
        d = b.deal(created=berlin(2026, 3, 1), owner=rep2, moves=[(b.proposal, berlin(2026, 4, 2))])
        StageTransition.objects.filter(deal=d, at__lt=END).delete()
        d = b.deal(created=berlin(2026, 3, 30), moves=[(b.proposal, berlin(2026, 4, 2))])
        StageTransition.objects.filter(deal=d, at__lt=END).delete()
        # Two transitions at one instant before the end: the later id (Lead) counts.
        d = b.deal(
            created=feb,
            owner=rep,
            moves=[(b.proposal, berlin(2026, 3, 1)), (b.won, berlin(2026, 4, 2))],
        )
        StageTransition.objects.create(
            deal=d, from_stage=b.proposal, to_stage=b.lead, at=berlin(2026, 3, 1)
        )
        # A limit's days before the end on the clock (summer time began in between: one
        # hour short of the limit) and in seconds; then one second more. Settled, moved.
        limit = timedelta(days=b.lead.max_dwell_days)
        for at in (END - limit, END.astimezone(UTC) - limit):
            b.deal(created=at - timedelta(seconds=1), moves=[(b.lead, at)])
        b.deal(created=END - limit, owner=rep2)
        b.deal(created=END - limit - timedelta(seconds=1), owner=rep2)
        b.deal(created=feb, moves=[(b.lead, END - limit), (b.proposal, berlin(2026, 4, 2))])
        b.deal(
            created=feb,
            moves=[(b.lead, END - limit - timedelta(seconds=1)), (b.proposal, berlin(2026, 4, 2))],
        )
        # Not open at the end.
        b.deal(created=feb, moves=[(b.lost, berlin(2026, 3, 30))])
        b.deal(created=END)
    return book, onboarding


def per_deal(scope: Scope) -> tuple[dict, dict]:
    """The figures' inputs from the per-deal reconstruction, as the scorecard computed them."""
    p = scope.period
    deals = with_hygiene(
        open_deals_at(scope, p.end_at, revenue_only=False), p.end_at, rotting_since(p.end, p.tz)
    )
    hygiene = {
        k: {"open_deals": r["open_deals"], "hygienic_deals": r["h"] or 0, "stale_deals": r["s"]}
        for k, r in scope.group(
            deals, "owner", open_deals=Count("pk"), h=Sum("hygienic"), s=Sum("stale")
        ).items()
        if r["open_deals"]
    }
    aggregates = deal_required_aggregates(
        completeness.required_fields(scope.tenant)["deal"], criteria_fields()
    )
    values = {k: v for k, v in aggregates.items() if not k.startswith("name_")}
    rows = scope.group(open_deals_at(scope, p.end_at, revenue_only=False), "owner", **values)
    complete = {
        k: {
            "required": sum(v or 0 for n, v in r.items() if n.startswith("req_")),
            "filled": sum(v or 0 for n, v in r.items() if n.startswith("fill_")),
        }
        for k, r in rows.items()
        if r["req_0"]
    }
    return hygiene, complete


def grouped(scope: Scope) -> tuple[dict, dict]:
    needs = deal_field_needs(completeness.required_fields(scope.tenant)["deal"], criteria_fields())
    groups = _deals_at_end(scope, [name for name, _ in needs])
    return _hygiene(groups), _deal_completeness(groups, needs)


@override_settings(KEEL_REQUIRED_FIELDS="tests.reporting.test_state_at_end.required")
@pytest.mark.parametrize("mode", ["tenant", "team", "owner", "pipeline"])
def test_grouped_state_at_end_equals_the_per_deal_reconstruction(tenant_a, deals, mode):
    book, onboarding = deals
    scope = Scope(
        tenant=tenant_a.tenant,
        period=Period(MARCH["start"], MARCH["end"], BERLIN),
        owner_id=tenant_a.rep2.user.pk if mode == "owner" else None,
        pipeline_id=onboarding.pipeline.pk if mode == "pipeline" else None,
        by_owner=mode == "team",
    )
    hygiene, complete = grouped(scope)
    assert (hygiene, complete) == per_deal(scope)
    if mode == "tenant":  # the data takes every branch
        totals = hygiene["all"]
        assert totals["open_deals"] == 30
        assert 0 < totals["hygienic_deals"] < totals["stale_deals"] < totals["open_deals"]
        assert 0 < complete["all"]["filled"] < complete["all"]["required"]


def test_a_tenant_without_time_limits_has_no_deal_over_one(tenant_a, book):
    book.lead.max_dwell_days = None
    book.lead.save()
    book.deal(created=berlin(2025, 1, 1))
    scope = Scope(tenant=tenant_a.tenant, period=Period(date(2026, 3, 1), date(2026, 4, 1), BERLIN))
    hygiene, _ = grouped(scope)
    assert hygiene == per_deal(scope)[0]
    assert hygiene["all"]["open_deals"] == 1
