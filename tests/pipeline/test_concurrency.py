"""Two people moving the same deal at the same moment, on two real PostgreSQL connections:
one wins, the other is told clearly, and exactly one transition is written."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from crm.tenancy import tenant_context
from pipeline import services
from pipeline.models import Deal, Stage, StageTransition
from pipeline.services import DealChanged
from tests.pipeline.conftest import default_sales, qualified_deal

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(org, deal_pk: int, moves: list[tuple[object, int]]) -> list[object]:
    """Each (user, stage id) runs in its own thread and connection; both read the deal,
    wait for each other, then move it. Returns what each got: "moved" or the exception."""
    barrier = threading.Barrier(len(moves), timeout=10)
    results: list[object] = [None] * len(moves)

    def attempt(i: int, user, stage_pk: int) -> None:
        try:
            with transaction.atomic(), tenant_context(org.tenant):
                deal = Deal.objects.get(pk=deal_pk)
                stage = Stage.objects.get(pk=stage_pk)
                barrier.wait()  # both have read version 1 before either writes
                services.move_deal(deal, to_stage=stage, by=user)
            results[i] = "moved"
        except Exception as exc:  # noqa: BLE001 (the test inspects it)
            results[i] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=(i, user, stage_pk))
        for i, (user, stage_pk) in enumerate(moves)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_concurrent_moves_one_wins_the_other_is_told(org_a):
    with org_a.activate():
        sales = default_sales(org_a)
        deal = qualified_deal(sales, stage=sales["Proposal"], owner=org_a.rep.user)
        target = sales["Negotiation"].pk
    results = _race(org_a, deal.pk, [(org_a.rep.user, target), (org_a.manager.user, target)])
    assert sorted(type(r).__name__ for r in results) == ["DealChanged", "str"]
    [refusal] = [r for r in results if isinstance(r, DealChanged)]
    assert "changed this deal a moment ago: it is now in Negotiation" in refusal.messages[0]
    with org_a.activate():
        moves = StageTransition.objects.filter(deal_id=deal.pk, from_stage__isnull=False)
        assert moves.count() == 1
        fresh = Deal.objects.get(pk=deal.pk)
        assert (fresh.stage_id, fresh.version) == (target, 2)


def test_concurrent_moves_to_different_stages_keep_one_consistent_result(org_a):
    with org_a.activate():
        sales = default_sales(org_a)
        deal = qualified_deal(sales, stage=sales["Proposal"])
        a, b = sales["Negotiation"].pk, sales["Won"].pk
    results = _race(org_a, deal.pk, [(org_a.rep.user, a), (org_a.rep2.user, b)])
    assert results.count("moved") == 1
    winner = (a, b)[results.index("moved")]
    with org_a.activate():
        fresh = Deal.objects.get(pk=deal.pk)
        assert fresh.stage_id == winner
        [move] = StageTransition.objects.filter(deal_id=deal.pk, from_stage__isnull=False)
        assert move.to_stage_id == winner
