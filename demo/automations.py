"""Demo data for the automations (`manage.py seed_demo`, after the pipeline seeder).

Sets up what a new workspace would configure (a follow-up cadence on Proposal, a rule
giving website leads to the reps in turn) and two deals that show the jobs at work as
soon as the worker and beat run: one left in New lead past its seven-day limit (its
owner gets one alert, in the bell and by e-mail) and one won deal whose contract ends in
exactly 90 days (a renewal notice and a renewal deal). Adds only what is missing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TextIO

from django.utils import timezone

from contacts.models import AssignmentRule, Organization
from contacts.services import create_organization
from contacts.services.assignment import create_assignment_rule
from crm.models import Membership, Role, Tenant
from pipeline import services
from pipeline.models import CadenceStep, Deal, Pipeline, Stage, StageTransition
from pipeline.services.cadences import add_cadence_step
from pipeline.services.renewals import create_renewals_pipeline

STALE_DEAL = "Harbor Logistics pilot (stale demo)"
RENEWAL_DEAL = "Lumen Analytics licence (renewal demo)"
CADENCE = [
    (2, "Check the proposal arrived and was read"),
    (5, "Ask for feedback on the proposal"),
    (10, "Push for a decision date"),
]


def seed(*, tenant: Tenant, members: dict[str, Membership], stdout: TextIO) -> None:
    admin = _first(members, Role.ADMIN)
    reps = [m.user for m in members.values() if m.role == Role.REP]
    if admin is None or not reps:
        return
    services.create_default_pipelines(tenant=tenant, by=admin)
    create_renewals_pipeline(tenant=tenant, by=admin)
    sales = Pipeline.objects.filter(kind=Pipeline.Kind.SALES).order_by("position").first()
    stages = {s.name: s for s in Stage.objects.active().filter(pipeline=sales)}
    if "Proposal" in stages and not CadenceStep.objects.filter(stage=stages["Proposal"]).exists():
        for days, title in CADENCE:
            add_cadence_step(stages["Proposal"], by=admin, offset_days=days, title=title)
    if not AssignmentRule.objects.exists():
        create_assignment_rule(
            by=admin, name="Website leads", source="website", members=reps, applies_to="both"
        )
    rep = reps[0]
    if "New lead" in stages and not Deal.objects.filter(name=STALE_DEAL).exists():
        _stale_deal(stages["New lead"], owner=rep, by=admin)
    if "Negotiation" in stages and not Deal.objects.filter(name=RENEWAL_DEAL).exists():
        _renewal_deal(tenant, stages["Negotiation"], owner=rep, by=admin)
    stdout.write(
        f"  automations: “{STALE_DEAL}” is past its limit and “{RENEWAL_DEAL}” ends in 90 "
        "days; the worker and beat alert their owner within five minutes."
    )


def _first(members: dict[str, Membership], role: str):
    return next((m.user for m in members.values() if m.role == role), None)


def _organization(name: str, by) -> Organization:
    found = Organization.objects.filter(name=name).first()
    return found or create_organization(by=by, name=name, allow_duplicate=True, country="Germany")


def _stale_deal(stage: Stage, *, owner, by) -> None:
    """Nine days in New lead (limit 7): stale, but neither idle for the rotting period
    (14 days) nor at twice the limit, so its owner alone hears about it, once."""
    deal = services.create_deal(
        by=by,
        name=STALE_DEAL,
        stage=stage,
        owner=owner,
        organization=_organization("Harbor Logistics", by),
        amount=18_000,
    )
    entered = timezone.now() - timedelta(days=9)
    Deal.objects.filter(pk=deal.pk).update(
        created_at=entered,
        stage_entered_at=entered,
        dwell_due_at=entered + timedelta(days=stage.max_dwell_days or 7),
    )
    StageTransition.objects.filter(deal=deal).update(at=entered)


def _renewal_deal(tenant: Tenant, stage: Stage, *, owner, by) -> None:
    """Won a year ago, its contract ends 90 days from today in the tenant's calendar."""
    today = timezone.now().astimezone(tenant.tz).date()
    deal = services.create_deal(
        by=by,
        name=RENEWAL_DEAL,
        stage=stage,
        owner=owner,
        organization=_organization("Lumen Analytics", by),
        amount=36_000,
    )
    services.win_deal(
        deal,
        by=by,
        contract_start=date(today.year - 1, today.month, 1),
        contract_end=today + timedelta(days=90),
    )
