"""Demo data for `manage.py seed_demo` (last seeder): value segments and customers at risk.

Runs on the year of history the other seeders wrote. It sets potential estimates so that
every quadrant of the value matrix has accounts, and turns a few valuable customers who
have gone quiet into customers at risk the way it happens: their last meetings were two
to three months ago, tasks went overdue, a deal was lost three weeks ago and their
contract ends within a month with no renewal deal. Then it computes 60 days of health
history (no notifications for the past) and today's scores, which start the churn
episodes: each owner gets a notification and a follow-up task. Idempotent: the shaping
runs once (its tasks carry a source key), the scores only fill missing days.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TextIO

from django.utils import timezone

from contacts.models import Activity, Organization, Task
from crm.models import Membership, Role, Tenant
from intelligence import health, services, values
from intelligence.models import AccountPotential, ChurnState, Quadrant
from pipeline.models import Deal, LostReason, Pipeline, Stage, StageTransition
from reporting.periods import local_today

SEED = 909
HISTORY_DAYS = 60
AT_RISK = 4
MARK = "demo:intelligence"


def seed(*, tenant: Tenant, members: dict[str, Membership], stdout: TextIO) -> None:
    today = local_today(tenant.tz)
    if not Organization.objects.live().exists():
        stdout.write("intelligence: no organizations (run the contacts seeder first)")
        return
    if Task.objects.filter(source_key__startswith=MARK).exists():
        stdout.write("intelligence: demo accounts already shaped, left as they are")
    else:
        rng = random.Random(SEED)
        manager = next((m.user for m in members.values() if m.role == Role.MANAGER), None)
        shaped = _at_risk(tenant, today, rng)
        _renewal_history(tenant, today, rng, skip={o.pk for o in shaped})
        _potentials(tenant, today, rng, by=manager)
        stdout.write(
            f"intelligence: potential estimates set; {len(shaped)} customer(s) slipping: "
            + ", ".join(o.name for o in shaped)
        )
    history = services.backfill_scores(days=HISTORY_DAYS, today=today)
    scored = services.score_customers(day=today)
    at_risk = ChurnState.objects.filter(at_risk=True).count()
    stdout.write(
        f"intelligence: {history + scored} health score(s) over {HISTORY_DAYS} days; "
        f"{at_risk} customer(s) at risk, their owners notified with a follow-up task"
    )


# Customers at risk


def _at_risk(tenant: Tenant, today: date, rng: random.Random) -> list[Organization]:
    """The quietest customers owned by reps, made to slip over the last two months."""
    now = timezone.now()
    reps = set(
        Membership.objects.filter(role=Role.REP, is_active=True).values_list("user_id", flat=True)
    )
    owned = {o.pk: o for o in health.customers().filter(owner_id__in=reps)}
    facts = health.customer_facts(health.customers().filter(pk__in=owned), day=today, tz=tenant.tz)
    # Without a contract of their own that runs on or a renewal already in hand, so the
    # contract added below is the one ending.
    horizon = today + timedelta(days=60)
    free = [
        f
        for f in facts
        if not (f.open_ended or f.renewal or (f.contract_end and f.contract_end > horizon))
    ]
    quietest = sorted(free, key=lambda f: (f.last_contact_at is not None, f.last_contact_at))
    chosen = [owned[f.organization_id] for f in quietest[:AT_RISK]]
    sales = Pipeline.objects.filter(kind=Pipeline.Kind.SALES).order_by("position", "pk").first()
    if sales is None:
        return []
    stages = {s.name: s for s in Stage.objects.filter(pipeline=sales)}
    won = next(s for s in stages.values() if s.kind == Stage.Kind.WON)
    lost = next(s for s in stages.values() if s.kind == Stage.Kind.LOST)
    opens = sorted(
        (s for s in stages.values() if s.kind == Stage.Kind.OPEN), key=lambda s: s.position
    )
    limited = [s for s in opens if s.max_dwell_days] or opens
    reason = LostReason.objects.filter(is_active=True).first()
    for i, org in enumerate(chosen):
        # Met two to three months ago, busier in the months before: the trend falls.
        for days, kind in [(70 + i, "meeting"), (84 + i, "call")] + [
            (100 + 11 * k + i, rng.choice(["call", "email", "meeting"])) for k in range(6)
        ]:
            _activity(tenant, org, now - timedelta(days=days, hours=rng.randint(0, 6)), kind)
        # Three tasks gone overdue one after the other.
        for k, days in enumerate((5, 12, 21)):
            Task.objects.create(
                tenant=tenant,
                title=[
                    "Send the usage report",
                    "Book the quarterly review",
                    "Confirm the new admin",
                ][k],
                due_at=now - timedelta(days=days),
                assignee_id=org.owner_id,
                organization=org,
                created_by_id=org.owner_id,
                created_at=now - timedelta(days=days + 9),
                updated_at=now - timedelta(days=days + 9),
                source_key=f"{MARK}:{org.pk}:{k}",
            )
        # The contract ends in two to three weeks and nobody opened the renewal.
        amount = Decimal(rng.choice([36, 48, 60, 72])) * 1000
        _deal(
            tenant, org, name=f"{org.name} – Annual licence", stages=(opens[0], won),
            created=now - timedelta(days=380), closed=now - timedelta(days=350), amount=amount,
            contract_start=today - timedelta(days=340), contract_end=today + timedelta(days=14 + 3 * i),
        )  # fmt: skip
        # Two upsells stuck past their stage's limit, two lost in the last weeks.
        for k, entered in enumerate((25, 35)):
            stage = limited[min(len(limited) - 1, 2 + k)]
            _open_deal(
                tenant, org, name=f"{org.name} – {['Extra seats', 'Analytics add-on'][k]}",
                stage=stage, entered=now - timedelta(days=entered), amount=amount / 4,
            )  # fmt: skip
        if reason is not None:
            for k, days in enumerate((18 + i, 40 + i)):
                _deal(
                    tenant, org, name=f"{org.name} – {['Expansion', 'Training package'][k]}",
                    stages=(opens[0], lost), created=now - timedelta(days=days + 30),
                    closed=now - timedelta(days=days), amount=amount / 3, lost_reason=reason,
                    lost_note="They are reviewing all their tools this quarter.",
                )  # fmt: skip
    return chosen


def _open_deal(
    tenant: Tenant, org: Organization, *, name: str, stage: Stage, entered: datetime,
    amount: Decimal,
) -> Deal:  # fmt: skip
    deal = Deal.objects.create(
        tenant=tenant,
        name=name[:200],
        pipeline=stage.pipeline,
        stage=stage,
        organization=org,
        owner_id=org.owner_id,
        amount=amount,
        currency=tenant.currency,
        expected_close=(entered + timedelta(days=45)).date(),
        stage_entered_at=entered,
        dwell_due_at=entered + timedelta(days=stage.max_dwell_days)
        if stage.max_dwell_days
        else None,
        created_at=entered,
        updated_at=entered,
        created_by_id=org.owner_id,
    )
    StageTransition.objects.create(
        tenant=tenant, deal=deal, to_stage=stage, at=entered, by_id=org.owner_id
    )
    return deal


def _activity(tenant: Tenant, org: Organization, when: datetime, kind: str) -> None:
    subjects = {
        "call": "Check-in call",
        "email": "Shared the usage report",
        "meeting": "Quarterly review",
    }
    contact = org.contacts.filter(merged_into__isnull=True, erased_at__isnull=True).first()
    Activity.objects.create(
        tenant=tenant,
        kind=kind,
        subject=subjects[kind],
        occurred_at=when,
        outcome={"call": "connected", "meeting": "held"}.get(kind, ""),
        duration_minutes={"call": 15, "meeting": 45}.get(kind),
        logged_by_id=org.owner_id,
        contact=contact,
        organization=org,
        created_at=when,
        updated_at=when,
    )


def _deal(
    tenant: Tenant, org: Organization, *, name: str, stages: tuple[Stage, Stage],
    created: datetime, closed: datetime, amount: Decimal, **fields,
) -> Deal:  # fmt: skip
    """A deal opened at `created` and closed at `closed` (both transitions written)."""
    first, last = stages
    deal = Deal.objects.create(
        tenant=tenant,
        name=name[:200],
        pipeline=last.pipeline,
        stage=last,
        status=last.kind,
        organization=org,
        owner_id=org.owner_id,
        amount=amount,
        currency=tenant.currency,
        expected_close=closed.date(),
        stage_entered_at=closed,
        created_at=created,
        updated_at=closed,
        closed_at=closed,
        created_by_id=org.owner_id,
        **fields,
    )
    StageTransition.objects.bulk_create(
        [
            StageTransition(
                tenant=tenant, deal=deal, to_stage=first, at=created, by_id=org.owner_id
            ),
            StageTransition(
                tenant=tenant,
                deal=deal,
                from_stage=first,
                to_stage=last,
                at=closed,
                by_id=org.owner_id,
                seconds_in_stage=int((closed - created).total_seconds()),
            ),
        ]
    )
    return deal


# Retention


def _renewal_history(tenant: Tenant, today: date, rng: random.Random, *, skip: set[int]) -> None:
    """Contracts that ended last quarter: three customers renewed (one for more), three
    former customers churned, so the retention view has a story to tell."""
    renewals = Pipeline.objects.filter(kind=Pipeline.Kind.RENEWALS).first()
    sales = Pipeline.objects.filter(kind=Pipeline.Kind.SALES).order_by("position", "pk").first()
    reason = LostReason.objects.filter(is_active=True).first()
    if renewals is None or sales is None or reason is None:
        return
    due = renewals.stages.filter(kind=Stage.Kind.OPEN).order_by("position").first()
    renewed = renewals.stages.get(kind=Stage.Kind.WON)
    churned = renewals.stages.get(kind=Stage.Kind.LOST)
    new_lead = sales.stages.filter(kind=Stage.Kind.OPEN).order_by("position").first()
    won = sales.stages.get(kind=Stage.Kind.WON)
    now = timezone.now()
    stayed = list(health.customers().exclude(pk__in=skip).order_by("pk")[:40])
    left = list(
        Organization.objects.live()
        .filter(lifecycle=Organization.Lifecycle.FORMER_CUSTOMER)
        .order_by("pk")[:20]
    )
    for k, org in enumerate(
        rng.sample(stayed, min(3, len(stayed))) + rng.sample(left, min(3, len(left)))
    ):
        amount = Decimal(rng.choice([18, 24, 30, 42])) * 1000
        ended = today - timedelta(days=60 + 9 * k)
        _deal(
            tenant, org, name=f"{org.name} – First year", stages=(new_lead, won),
            created=now - timedelta(days=420), closed=now - timedelta(days=385 + 9 * k),
            amount=amount, contract_start=ended - timedelta(days=364), contract_end=ended,
        )  # fmt: skip
        if org.lifecycle == Organization.Lifecycle.CUSTOMER:
            grown = amount * Decimal("1.25") if k == 0 else amount
            _deal(
                tenant, org, name=f"Renewal {ended:%Y}: {org.name}", stages=(due, renewed),
                created=now - timedelta(days=150 + 9 * k), closed=now - timedelta(days=75 + 9 * k),
                amount=grown, contract_start=ended + timedelta(days=1),
                contract_end=ended + timedelta(days=365),
            )  # fmt: skip
        else:
            _deal(
                tenant, org, name=f"Renewal {ended:%Y}: {org.name}", stages=(due, churned),
                created=now - timedelta(days=150 + 9 * k), closed=now - timedelta(days=62 + 9 * k),
                amount=amount, lost_reason=reason, lost_note="Moved to a cheaper tool.",
            )  # fmt: skip


# Value segments


def _potentials(tenant: Tenant, today: date, rng: random.Random, *, by) -> None:
    """Estimates on a few accounts of each kind, until every quadrant has accounts."""
    settings = values.intelligence_settings()
    matrix = values.value_matrix(today=today, tz=tenant.tz, settings=settings)
    ranked = sorted(matrix.accounts, key=lambda a: (-a.current, a.pk))
    strong, weak = ranked[: len(ranked) // 3], [a for a in ranked if a.current == 0]
    picks = rng.sample(strong, min(6, len(strong))) + rng.sample(weak, min(6, len(weak)))
    for account in picks:
        estimate = Decimal(rng.choice([25, 40, 60, 80, 120])) * 1000
        _set(tenant, account.pk, estimate, by)
    for _ in range(5):
        matrix = values.value_matrix(today=today, tz=tenant.tz, settings=settings)
        grouped = matrix.by_quadrant()
        missing = [q for q in Quadrant.values if not grouped[q]]
        if not missing:
            return
        high = matrix.thresholds.potential * 2 + Decimal(10_000)
        for q in missing:
            pool = {
                Quadrant.INVEST: grouped[Quadrant.PROTECT],
                Quadrant.DEVELOP: grouped[Quadrant.SERVE],
            }.get(q, [])
            if pool:
                _set(tenant, pool[0].pk, high, by)


def _set(tenant: Tenant, org_id: int, estimate: Decimal, by) -> None:
    AccountPotential.objects.update_or_create(
        organization_id=org_id,
        defaults={"tenant": tenant, "estimate": estimate, "set_by": by, "set_at": timezone.now()},
    )
