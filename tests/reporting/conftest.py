"""Helpers for hand-built reporting datasets in tenant A (Europe/Berlin).

`berlin(2026, 3, 31, 23, 59)` is a Berlin wall-clock instant; `Book` builds a sales
pipeline and writes deals with their whole stage history, as the pipeline services would
have written it at those instants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
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
