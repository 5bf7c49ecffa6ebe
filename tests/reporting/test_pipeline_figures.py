"""The pipeline figures shown beside the scorecards (METRICS.md), from hand-built history."""

from __future__ import annotations

import pytest

from reporting.periods import Period
from reporting.scorecards import Scope
from reporting.selectors import funnel
from tests.reporting.conftest import BERLIN, MARCH, berlin


@pytest.fixture
def march(tenant_a) -> Scope:
    return Scope(tenant=tenant_a.tenant, period=Period(MARCH["start"], MARCH["end"], BERLIN))


def conversion(scope: Scope, book) -> dict[str, list]:
    table = funnel(scope, book.pipeline, [book.lead, book.proposal, book.won, book.lost])
    return {row[0]: row[1:] for row in table.rows}


def test_stage_conversion_follows_the_deals_that_entered_the_stage_in_the_period(march, book):
    feb = berlin(2026, 2, 20)
    # Entered Lead in February, moved on in March: not part of March's Lead cohort. Counting
    # every move out of Lead in March over the entries of March gave 4 ÷ 3 = 133 %.
    book.deal(
        created=feb, moves=[(book.proposal, berlin(2026, 3, 5)), (book.won, berlin(2026, 3, 9))]
    )
    book.deal(
        created=feb, moves=[(book.proposal, berlin(2026, 3, 6)), (book.lost, berlin(2026, 3, 9))]
    )
    book.deal(created=feb, moves=[(book.proposal, berlin(2026, 3, 7))])
    # March's Lead cohort: one moves on in March, one stays, one moves on after the period.
    book.deal(created=berlin(2026, 3, 2), moves=[(book.proposal, berlin(2026, 3, 10))])
    book.deal(created=berlin(2026, 3, 3))
    book.deal(created=berlin(2026, 3, 15), moves=[(book.proposal, berlin(2026, 4, 2))])
    # Entered Proposal in February, won in March: not part of March's Proposal cohort.
    book.deal(created=feb, stage=book.proposal, moves=[(book.won, berlin(2026, 3, 12))])

    rows = conversion(march, book)

    assert rows["Lead"] == [3, 1, pytest.approx(1 / 3)]
    # Proposal's cohort: the four that arrived in March; one won, one lost, two still there.
    assert rows["Proposal"] == [4, 1, 0.25]
    assert list(rows) == ["Lead", "Proposal"]  # terminal stages have no conversion


def test_stage_conversion_never_exceeds_every_deal(march, book):
    feb = berlin(2026, 2, 20)
    for day in (5, 6, 7):
        book.deal(created=feb, moves=[(book.proposal, berlin(2026, 3, day))])
    book.deal(created=berlin(2026, 3, 2), moves=[(book.proposal, berlin(2026, 3, 10))])

    entered, moved_on, rate = conversion(march, book)["Lead"]

    assert (entered, moved_on, rate) == (1, 1, 1.0)  # was 4 ÷ 1: 400 %


def test_a_move_back_and_forth_counts_a_deal_once(march, book):
    book.deal(
        created=berlin(2026, 3, 2),
        moves=[
            (book.proposal, berlin(2026, 3, 4)),
            (book.lead, berlin(2026, 3, 6)),
            (book.proposal, berlin(2026, 3, 8)),
        ],
    )

    assert conversion(march, book)["Lead"] == [1, 1, 1.0]
