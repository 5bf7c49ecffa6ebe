# Long on purpose: one story, a year of deals, generated in the order it happens.
"""Demo data for `manage.py seed_demo`: a year of deals moving through the pipelines.

Runs after the contacts seeder (it sells to that seeder's organizations). Each deal walks
the sales stages the way deals do: most advance, some are lost on the way, recent ones
are still open; every step is a StageTransition with the time spent in the stage left,
and the activities the criteria ask for (a meeting in Discovery…) are logged and linked
on the way. Won deals carry contract dates (some end within the next three months) and
recent ones an onboarding deal; lost deals a reason; a few open deals sit past their
stage's limit or have gone quiet. The demo rep has leads ready to qualify, so dragging
one to Qualified shows the dialog. Rows go in with bulk_create (no audit events for
made-up history). Creates the default pipelines when missing, then runs once: a tenant
that already has deals is left alone.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TextIO

from django.utils import timezone

from contacts.models import Activity, Contact, Organization, Task
from crm.models import Membership, Role, Tenant
from pipeline.models import (
    Deal,
    DealActivity,
    DealContact,
    DealTask,
    LostReason,
    Pipeline,
    Stage,
    StageTransition,
)
from pipeline.services import create_default_pipelines

SEED = 4242
SALES_DEALS = 380
PRODUCTS = [
    "Platform licence", "Team rollout", "Pilot", "Analytics add-on", "Enterprise plan",
    "Expansion", "Support upgrade", "Multi-site rollout", "Integration package", "Starter plan",
]  # fmt: skip
# Days a deal typically spends in each stage, and the chance it moves on (else it is lost).
PACE = {
    "New lead": ((1, 8), 0.8),
    "Qualified": ((3, 14), 0.86),
    "Discovery": ((5, 22), 0.82),
    "Proposal": ((4, 16), 0.76),
    "Negotiation": ((4, 20), 0.8),
}
ONBOARDING_PACE = {
    "Contract signed": (1, 5),
    "Kickoff scheduled": (3, 10),
    "Setup in progress": (10, 30),
    "Training completed": (4, 12),
    "Go-live": (2, 7),
    "30-day review": (25, 35),
}
NEEDS = [
    "Their spreadsheets break once the team passes 20 reps.",
    "No view of the pipeline across the three regional offices.",
    "Renewals slip because nobody owns the follow-up.",
    "Forecasts are off by 30 % every quarter.",
    "Leads from events sit untouched for weeks.",
    "Managers spend Mondays assembling reports by hand.",
]
AUTHORITIES = [
    "CFO signs",
    "Managing director",
    "Head of Sales, with IT sign-off",
    "COO",
    "Board decision",
]
TIMELINES = [
    "Decision this quarter",
    "Before the budget freeze",
    "Go-live in spring",
    "By year end",
    "Within 6 weeks",
]
SUBJECTS = {
    "call": ["Discovery call", "Pricing questions", "Check-in call", "Budget discussion", "Call about next steps"],
    "email": ["Sent the proposal", "Meeting recap", "Shared the case study", "Contract draft sent", "Answered security questions"],
    "meeting": ["Product demo", "Technical deep dive", "Negotiation meeting", "Workshop with the team", "Kick-off meeting"],
}  # fmt: skip
TASKS = [
    "Send the revised proposal", "Call back about pricing", "Book the demo with IT",
    "Confirm the decision date", "Follow up on the contract", "Chase the signed order",
]  # fmt: skip


@dataclass
class Plan:
    """One deal's made-up history, turned into rows at the end."""

    deal: Deal
    steps: list[tuple[Stage, datetime]] = field(default_factory=list)  # entered, when
    activities: list[Activity] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    override: str = ""


def seed(*, tenant: Tenant, members: dict[str, Membership], stdout: TextIO) -> None:
    """Fill the demo tenant (current) with a year of deals and their stage histories."""
    admin = next((m.user for m in members.values() if m.role == Role.ADMIN), None)
    created = create_default_pipelines(tenant=tenant, by=admin)
    if created:
        stdout.write(f"pipeline: added the {', '.join(p.name for p in created)} pipeline(s)")
    if Deal.objects.exists():
        stdout.write("pipeline: demo deals already present, left as they are")
        return
    orgs = list(Organization.objects.live().order_by("pk"))
    if not orgs:
        stdout.write("pipeline: no organizations to sell to (run the contacts seeder first)")
        return
    rng = random.Random(SEED)
    now = timezone.now()
    users = {email.split("@")[0]: m.user for email, m in members.items()}
    rep, rep2, manager = users.get("rep"), users.get("rep2"), users.get("manager")
    owners = [u for u in (rep, rep, rep, rep2, rep2, manager) if u is not None]
    people: dict[int, list[Contact]] = defaultdict(list)
    for contact in Contact.objects.live().filter(organization__isnull=False).order_by("pk"):
        people[contact.organization_id].append(contact)
    sales = Pipeline.objects.get(kind=Pipeline.Kind.SALES)
    stages = {s.name: s for s in Stage.objects.active().filter(pipeline=sales)}
    reasons = list(LostReason.objects.filter(is_active=True))
    context = _Context(tenant, rng, now, owners, manager, people, reasons)

    plans = [_sales_plan(context, sales, stages, rng.choice(orgs)) for _ in range(SALES_DEALS)]
    if rep is not None:
        plans += _rep_showcase(context, sales, stages, orgs, rep)
    onboarding = Pipeline.objects.filter(kind=Pipeline.Kind.ONBOARDING).first()
    if onboarding is not None:
        ob_stages = list(Stage.objects.active().filter(pipeline=onboarding))
        recent_wins = [
            p
            for p in plans
            if p.deal.status == "won" and p.deal.closed_at > now - timedelta(days=150)
        ]
        plans += [_onboarding_plan(context, onboarding, ob_stages, won) for won in recent_wins]
    _save(context, plans)
    won = sum(p.deal.status == "won" for p in plans)
    lost = sum(p.deal.status == "lost" for p in plans)
    stdout.write(
        f"pipeline: {len(plans)} deals ({len(plans) - won - lost} open, {won} won, {lost} lost), "
        f"{sum(len(p.steps) for p in plans)} stage transitions"
    )


@dataclass
class _Context:
    tenant: Tenant
    rng: random.Random
    now: datetime
    owners: list
    manager: object
    people: dict[int, list[Contact]]
    reasons: list[LostReason]

    def moment(self, start: datetime, end: datetime) -> datetime:
        """A working-hours moment between start and end (never in the future)."""
        end = min(end, self.now - timedelta(minutes=20))
        if end <= start:
            return start
        moment = start + (end - start) * self.rng.uniform(0.05, 0.95)
        if 8 <= moment.hour < 18 and moment.weekday() < 5:
            return moment
        shifted = moment.replace(
            hour=self.rng.randint(9, 16), minute=self.rng.choice([0, 15, 30, 45])
        )
        return shifted if start <= shifted <= end else moment


def _amount(rng: random.Random) -> Decimal:
    value = rng.lognormvariate(10.2, 0.75)  # median ≈ 27 000
    return Decimal(max(2_000, min(250_000, round(value / 500) * 500)))


def _new_deal(
    ctx: _Context, pipeline: Pipeline, org: Organization, created: datetime, **fields
) -> Deal:
    contacts = ctx.people.get(org.pk) or []
    owner = fields.pop("owner", None) or (
        org.owner if org.owner in ctx.owners else ctx.rng.choice(ctx.owners)
    )
    return Deal(
        tenant=ctx.tenant,
        pipeline=pipeline,
        name=fields.pop("name", f"{org.name} – {ctx.rng.choice(PRODUCTS)}"),
        organization=org,
        primary_contact=contacts[0] if contacts else None,
        owner=owner,
        currency=ctx.tenant.currency,
        source=ctx.rng.choice(
            ["website", "referral", "event", "outbound", "partner", "inbound_call"]
        ),
        created_at=created,
        created_by=owner,
        updated_by=owner,
        **fields,
    )


def _log(ctx: _Context, plan: Plan, kind: str, start: datetime, end: datetime) -> None:
    deal = plan.deal
    occurred = ctx.moment(start, end)
    outcome, minutes = "", None
    if kind == "call":
        outcome, minutes = ctx.rng.choice(
            [("connected", ctx.rng.randint(5, 35)), ("left_voicemail", 1)]
        )
    elif kind == "meeting":
        outcome, minutes = "held", ctx.rng.choice([30, 45, 60, 90])
    plan.activities.append(
        Activity(
            tenant=ctx.tenant,
            kind=kind,
            subject=ctx.rng.choice(SUBJECTS[kind]),
            occurred_at=occurred,
            duration_minutes=minutes,
            outcome=outcome,
            logged_by=deal.owner,
            contact=deal.primary_contact,
            organization=deal.organization,
            created_at=occurred,
            updated_at=occurred,
        )
    )


def _qualify(ctx: _Context, deal: Deal) -> None:
    deal.budget = (deal.amount or _amount(ctx.rng)) * Decimal(ctx.rng.choice(["1", "1.2", "1.5"]))
    deal.authority = ctx.rng.choice(AUTHORITIES)
    deal.need = ctx.rng.choice(NEEDS)
    deal.timeline = ctx.rng.choice(TIMELINES)


def _sales_plan(ctx: _Context, pipeline: Pipeline, stages: dict[str, Stage], org) -> Plan:
    rng, now = ctx.rng, ctx.now
    created = now - timedelta(days=365 * rng.random() ** 1.45, hours=rng.uniform(0, 10))
    deal = _new_deal(
        ctx, pipeline, org, created, amount=_amount(rng) if rng.random() < 0.6 else None
    )
    plan = Plan(deal)
    order = list(PACE)
    at, index = created, 0
    while True:
        stage = stages[order[index]]
        plan.steps.append((stage, at))
        (low, high), onward = PACE[stage.name]
        days = rng.uniform(low, high) * (2.6 if rng.random() < 0.1 else 1)
        leave = at + timedelta(days=days)
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            _log(ctx, plan, rng.choice(["call", "email", "email"]), at, leave)
        moves_on = rng.random() < onward
        if stage.name == "Discovery" and (moves_on or rng.random() < 0.5):
            _log(ctx, plan, "meeting", at, leave)  # what Discovery asks for before leaving
        if leave >= now:
            break  # still here
        if not moves_on:
            _close(ctx, plan, stages["Lost"], leave)
            return plan
        if index + 1 == len(order):
            _close(ctx, plan, stages["Won"], leave)
            return plan
        index += 1
        at = leave
        if order[index] == "Qualified":
            _qualify(ctx, deal)
        if order[index] == "Proposal":
            deal.amount = deal.amount or _amount(rng)
            deal.expected_close = (at + timedelta(days=rng.uniform(20, 75))).date()
    _open(ctx, plan)
    return plan


def _open(ctx: _Context, plan: Plan) -> None:
    deal, rng, now = plan.deal, ctx.rng, ctx.now
    stage, entered = plan.steps[-1]
    if deal.amount and stage.name not in ("New lead",):
        if deal.expected_close is None:
            deal.expected_close = (now + timedelta(days=rng.uniform(15, 160))).date()
        elif deal.expected_close < now.date() and rng.random() < 0.7:
            deal.expected_close = (now + timedelta(days=rng.uniform(5, 120))).date()
    if rng.random() < 0.8:
        due = max(now + timedelta(days=rng.uniform(-2.5, 14)), entered + timedelta(days=1))
        plan.tasks.append(
            Task(
                tenant=ctx.tenant,
                title=rng.choice(TASKS),
                due_at=due,
                assignee=deal.owner,
                contact=deal.primary_contact,
                organization=deal.organization,
                created_by=deal.owner,
                created_at=min(max(entered, now - timedelta(days=5)), due - timedelta(hours=20)),
                updated_at=now - timedelta(days=1),
            )
        )


def _close(ctx: _Context, plan: Plan, stage: Stage, at: datetime) -> None:
    deal, rng = plan.deal, ctx.rng
    plan.steps.append((stage, at))
    deal.status = stage.kind
    deal.closed_at = at
    deal.expected_close = deal.expected_close or at.date()
    if stage.is_won:
        deal.amount = deal.amount or _amount(rng)
        deal.contract_start = (at + timedelta(days=rng.randint(1, 14))).date()
        months = rng.choice([12, 12, 12, 24, 36])
        deal.contract_end = _add_months(deal.contract_start, months) - timedelta(days=1)
    else:
        deal.lost_reason = rng.choice(ctx.reasons)
        if rng.random() < 0.4:
            deal.lost_note = rng.choice(
                ["Went with the incumbent.", "Budget moved to next year.", "Price was 20 % above theirs.",
                 "Champion left the company.", "Will revisit after their reorganisation."]
            )  # fmt: skip


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    return date(day.year + year, month + 1, min(day.day, 28))


def _rep_showcase(
    ctx: _Context, pipeline: Pipeline, stages: dict[str, Stage], orgs, rep
) -> list[Plan]:
    """The demo rep's own situations to try: leads to qualify (the dialog asks for BANT), a
    Discovery deal with no meeting yet, a proposal past its 14 days, one gone quiet."""
    rng, now = ctx.rng, ctx.now
    picks = rng.sample(orgs, 6)
    plans = []
    for i, org in enumerate(picks[:3]):
        deal = _new_deal(
            ctx, pipeline, org, now - timedelta(days=2 + i * 2), owner=rep, amount=_amount(rng)
        )
        deal.name = f"{org.name} – {['Team rollout', 'Pilot', 'Platform licence'][i]}"
        plan = Plan(deal, steps=[(stages["New lead"], deal.created_at)])
        _log(ctx, plan, "call", deal.created_at, now)
        _open(ctx, plan)
        plans.append(plan)
    discovery = _new_deal(
        ctx, pipeline, picks[3], now - timedelta(days=16), owner=rep, amount=_amount(rng)
    )
    _qualify(ctx, discovery)
    plan = Plan(
        discovery,
        steps=[
            (stages["New lead"], discovery.created_at),
            (stages["Qualified"], now - timedelta(days=13)),
            (stages["Discovery"], now - timedelta(days=6)),
        ],
    )
    _log(ctx, plan, "email", now - timedelta(days=5), now)
    _open(ctx, plan)
    plans.append(plan)
    late = _new_deal(
        ctx, pipeline, picks[4], now - timedelta(days=60), owner=rep, amount=Decimal(64_000)
    )
    _qualify(ctx, late)
    late.expected_close = (now + timedelta(days=10)).date()
    plan = Plan(late, steps=[(stages["New lead"], late.created_at), (stages["Qualified"], now - timedelta(days=52)),
                             (stages["Discovery"], now - timedelta(days=41)), (stages["Proposal"], now - timedelta(days=19))])  # fmt: skip
    _log(ctx, plan, "meeting", now - timedelta(days=35), now - timedelta(days=25))
    _log(ctx, plan, "email", now - timedelta(days=19), now - timedelta(days=17))
    plans.append(plan)
    quiet = _new_deal(
        ctx, pipeline, picks[5], now - timedelta(days=40), owner=rep, amount=Decimal(18_500)
    )
    _qualify(ctx, quiet)
    quiet.expected_close = (now + timedelta(days=30)).date()
    plan = Plan(quiet, steps=[(stages["New lead"], quiet.created_at), (stages["Qualified"], now - timedelta(days=33))],
                override="Qualified on a call with their CEO; the details follow by e-mail.")  # fmt: skip
    _log(ctx, plan, "call", now - timedelta(days=38), now - timedelta(days=30))
    plans.append(plan)
    return plans


def _onboarding_plan(ctx: _Context, pipeline: Pipeline, stages: list[Stage], won: Plan) -> Plan:
    rng, now = ctx.rng, ctx.now
    sale = won.deal
    start = sale.closed_at + timedelta(hours=rng.uniform(2, 30))
    deal = _new_deal(
        ctx,
        pipeline,
        sale.organization,
        start,
        name=f"Onboarding – {sale.organization.name}",
        amount=sale.amount,
        contract_start=sale.contract_start,
        contract_end=sale.contract_end,
    )
    deal.owner = sale.owner
    plan = Plan(deal)
    at = start
    opens = [s for s in stages if s.kind == "open"]
    for i, stage in enumerate(opens):
        plan.steps.append((stage, at))
        low, high = ONBOARDING_PACE.get(stage.name, (3, 10))
        leave = at + timedelta(days=rng.uniform(low, high))
        if stage.name in ("Kickoff scheduled", "30-day review", "Setup in progress"):
            _log(ctx, plan, "meeting", at, leave)
        if leave >= now:
            _open(ctx, plan)
            return plan
        at = leave
        if i + 1 == len(opens):
            won_stage = next(s for s in stages if s.kind == "won")
            plan.steps.append((won_stage, at))
            deal.status, deal.closed_at = "won", at
    return plan


def _ensure_a_renewal_is_due(ctx: _Context, plans: list[Plan]) -> None:
    """Random dates may leave no contract ending within 90 days; shorten the newest one's."""
    today = ctx.now.date()
    won = [
        p.deal
        for p in plans
        if p.deal.status == "won" and p.deal.contract_end and p.deal.pipeline.kind == "sales"
    ]
    if not won or any(today <= d.contract_end <= today + timedelta(days=90) for d in won):
        return
    deal = max(won, key=lambda d: d.contract_start)
    deal.contract_end = today + timedelta(days=ctx.rng.randint(30, 80))


def _save(ctx: _Context, plans: list[Plan]) -> None:
    tenant, rng = ctx.tenant, ctx.rng
    _ensure_a_renewal_is_due(ctx, plans)
    for plan in plans:
        deal = plan.deal
        stage, entered = plan.steps[-1]
        deal.stage, deal.stage_entered_at = stage, entered
        deal.status = deal.status if deal.closed_at else "open"
        if deal.status == "open" and stage.max_dwell_days:
            deal.dwell_due_at = entered + timedelta(days=stage.max_dwell_days)
        deal.version = len(plan.steps)
        deal.updated_at = max(entered, deal.created_at)
    Deal.objects.bulk_create([p.deal for p in plans], batch_size=500)
    transitions, links, other_people = [], [], []
    for plan in plans:
        previous = None
        for i, (stage, at) in enumerate(plan.steps):
            by = plan.deal.owner if rng.random() < 0.9 or ctx.manager is None else ctx.manager
            override = plan.override if i == len(plan.steps) - 1 and plan.override else ""
            transitions.append(
                StageTransition(
                    tenant=tenant,
                    deal=plan.deal,
                    from_stage=previous[0] if previous else None,
                    to_stage=stage,
                    at=at,
                    by=ctx.manager if override else by,
                    seconds_in_stage=int((at - previous[1]).total_seconds()) if previous else None,
                    override_reason=override,
                    overridden=[
                        {
                            "code": "entry:field:budget",
                            "label": "Budget is required to enter Qualified.",
                        }
                    ]
                    if override
                    else [],
                )
            )
            previous = (stage, at)
        contacts = ctx.people.get(plan.deal.organization_id) or []
        for contact in contacts[1:3]:
            other_people.append(DealContact(tenant=tenant, deal=plan.deal, contact=contact))
    StageTransition.objects.bulk_create(transitions, batch_size=1000)
    DealContact.objects.bulk_create(other_people, batch_size=1000)
    activities = [a for p in plans for a in p.activities]
    Activity.objects.bulk_create(activities, batch_size=1000)
    for plan in plans:
        links += [DealActivity(tenant=tenant, deal=plan.deal, activity=a) for a in plan.activities]
    DealActivity.objects.bulk_create(links, batch_size=1000)
    tasks = [t for p in plans for t in p.tasks]
    Task.objects.bulk_create(tasks, batch_size=1000)
    DealTask.objects.bulk_create(
        [DealTask(tenant=tenant, deal=p.deal, task=t) for p in plans for t in p.tasks],
        batch_size=1000,
    )
