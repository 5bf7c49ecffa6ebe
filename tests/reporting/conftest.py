"""Helpers for hand-built reporting datasets in tenant A (Europe/Berlin).

`berlin(2026, 3, 31, 23, 59)` is a Berlin wall-clock instant; `Book` builds a sales
pipeline and writes deals with their whole stage history, as the pipeline services would
have written it at those instants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pipeline.models import Deal, LostReason, Pipeline, Stage, StageTransition
from tests import factories

BERLIN = ZoneInfo("Europe/Berlin")
# The period most tests use: March 2026 in Berlin (DST starts on 29 March).
MARCH = {"start": date(2026, 3, 1), "end": date(2026, 4, 1)}


def berlin(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=BERLIN)


@dataclass
class Book:
    """A sales pipeline (Lead 10 % → Proposal 60 % → Won / Lost) to write history into."""

    pipeline: Pipeline
    lead: Stage
    proposal: Stage
    won: Stage
    lost: Stage
    reason: LostReason
    deals: list[Deal] = field(default_factory=list)

    def deal(
        self,
        *,
        created: datetime,
        owner=None,
        amount: int | Decimal | None = 1000,
        moves: list[tuple[Stage, datetime]] = (),
        stage: Stage | None = None,
        **fields,
    ) -> Deal:
        """A deal created in `stage` (Lead by default) at `created`, then moved as listed."""
        first = stage or self.lead
        final = moves[-1][0] if moves else first
        status = final.kind
        closed_at = moves[-1][1] if moves and final.kind != "open" else None
        deal = Deal.objects.create(
            name=f"Deal {len(self.deals) + 1}",
            pipeline=first.pipeline,
            stage=final,
            status=status,
            owner=owner,
            amount=amount,
            organization=fields.pop("organization", None) or factories.OrganizationFactory(),
            lost_reason=self.reason if status == "lost" else None,
            created_at=created,
            stage_entered_at=moves[-1][1] if moves else created,
            closed_at=closed_at,
            **fields,
        )
        StageTransition.objects.create(deal=deal, to_stage=first, at=created)
        previous, since = first, created
        for to_stage, at in moves:
            StageTransition.objects.create(
                deal=deal,
                from_stage=previous,
                to_stage=to_stage,
                at=at,
                seconds_in_stage=int((at - since).total_seconds()),
            )
            previous, since = to_stage, at
        self.deals.append(deal)
        return deal


def make_book(name: str = "Sales", kind: str = "sales") -> Book:
    pipeline = factories.PipelineFactory(name=name, kind=kind)
    stage = factories.StageFactory
    return Book(
        pipeline=pipeline,
        lead=stage(pipeline=pipeline, name="Lead", position=1, probability=10, max_dwell_days=7),
        proposal=stage(pipeline=pipeline, name="Proposal", position=2, probability=60),
        won=stage(pipeline=pipeline, name="Won", position=3, probability=100, kind="won"),
        lost=stage(pipeline=pipeline, name="Lost", position=4, probability=0, kind="lost"),
        reason=LostReason.objects.get_or_create(label="Price")[0],
    )


@pytest.fixture
def book(tenant_a) -> Book:
    return make_book()


def tell_story(org) -> Book:
    """A small March 2026 in tenant A (current) where every figure has a value: won and
    lost deals of both reps, customers, answered and waiting leads, a snapshot of 1 March,
    targets, visits, activities, open deals with and without next actions."""
    from crm.models import AutomationLog, Membership
    from pipeline.models import DealTask
    from reporting.models import MemberActivityDay, RevenueTarget
    from reporting.services import take_snapshot

    Membership.objects.update(created_at=berlin(2025, 1, 1))
    book = make_book()
    rep, rep2 = org.rep.user, org.rep2.user
    feb = berlin(2026, 2, 1)
    for owner, amount, close, stage in [
        (rep, 3000, date(2026, 3, 20), book.won),
        (rep, 1500, date(2026, 3, 25), book.lost),
        (rep2, 5000, date(2026, 3, 28), book.won),
        (rep2, 2500, date(2026, 3, 30), book.won),
    ]:
        book.deal(
            created=feb,
            owner=owner,
            amount=amount,
            expected_close=close,
            moves=[(book.proposal, berlin(2026, 2, 20)), (stage, berlin(2026, 3, close.day))],
            contract_start=close if stage == book.won else None,
        )
    book.deal(
        created=berlin(2025, 6, 1),
        owner=rep,
        amount=12_000,
        moves=[(book.won, berlin(2025, 6, 30))],
        contract_start=date(2025, 7, 1),
    )
    for owner in (rep, rep2):
        deal = book.deal(
            created=berlin(2026, 3, 5), owner=owner, amount=4000, expected_close=date(2026, 4, 15)
        )
        task = factories.TaskFactory(created_at=berlin(2026, 3, 5), assignee=owner)
        DealTask.objects.create(deal=deal, task=task)
    book.deal(
        created=feb, owner=rep2, amount=8000, stage=book.proposal, expected_close=date(2026, 3, 31)
    )
    for owner, hours in [(rep, 2), (rep, 5), (rep2, 30)]:
        lead = factories.ContactFactory(
            owner=owner, lifecycle="lead", created_at=berlin(2026, 3, 10, 9)
        )
        factories.ActivityFactory(
            contact=lead,
            logged_by=owner,
            occurred_at=berlin(2026, 3, 10, 9) + timedelta(hours=hours),
        )
    factories.ContactFactory(owner=rep2, lifecycle="lead", created_at=berlin(2026, 3, 12))
    for day in (3, 4, 5):
        MemberActivityDay.objects.create(user=rep, day=date(2026, 3, day))
        MemberActivityDay.objects.create(user=org.manager.user, day=date(2026, 3, day))
    MemberActivityDay.objects.create(user=rep2, day=date(2026, 3, 4))
    RevenueTarget.objects.create(start=date(2026, 3, 1), end=date(2026, 4, 1), amount=20_000)
    RevenueTarget.objects.create(
        owner=rep, start=date(2026, 1, 1), end=date(2026, 4, 1), amount=9000
    )
    RevenueTarget.objects.create(
        owner=rep2, start=date(2026, 3, 1), end=date(2026, 4, 1), amount=6000
    )
    AutomationLog.objects.create(
        automation="task_reminder", subject_type="contacts.task", subject_id=1,
        window=berlin(2026, 3, 6), user=rep, summary="Reminder", created_at=berlin(2026, 3, 6),
    )  # fmt: skip
    take_snapshot(day=date(2026, 3, 1))
    return book
