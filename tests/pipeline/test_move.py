"""move_deal: the only way a deal changes stage, and the criteria it enforces."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from crm.models import AuditEvent
from pipeline import services
from pipeline.models import Deal, StageTransition
from pipeline.services import DealChanged, StageCriteriaUnmet
from tests import factories
from tests.pipeline.conftest import qualified_deal


def _codes(exc: StageCriteriaUnmet) -> list[str]:
    return [u.code for u in exc.unmet]


# Required fields, on entry


def test_refuses_qualified_without_bant_and_lists_every_missing_field(tenant_a, sales):
    deal = factories.DealFactory(stage=sales["New lead"], owner=tenant_a.rep.user)
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.move_deal(deal, to_stage=sales["Qualified"], by=tenant_a.rep.user)
    assert exc.value.missing_fields == ["budget", "authority", "need", "timeline"]
    assert "Budget (EUR) is required to enter Qualified." in exc.value.messages
    deal.refresh_from_db()
    assert deal.stage == sales["New lead"]
    assert StageTransition.objects.filter(deal=deal).count() == 1  # only its creation


def test_fields_typed_in_while_moving_meet_the_criteria_and_are_saved(tenant_a, sales):
    deal = factories.DealFactory(stage=sales["New lead"], owner=tenant_a.rep.user)
    services.move_deal(
        deal,
        to_stage=sales["Qualified"],
        by=tenant_a.rep.user,
        fields={"budget": 20_000, "authority": "COO", "need": "Churn", "timeline": "Q3"},
    )
    deal.refresh_from_db()
    assert deal.stage == sales["Qualified"]
    assert (deal.budget, deal.authority) == (20_000, "COO")


def test_a_refused_move_keeps_nothing_it_was_given(tenant_a, sales):
    deal = factories.DealFactory(stage=sales["New lead"])
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.move_deal(
            deal, to_stage=sales["Qualified"], by=tenant_a.rep.user, fields={"budget": 1}
        )
    assert "budget" not in exc.value.missing_fields
    assert Deal.objects.get(pk=deal.pk).budget is None


def test_blank_text_does_not_count_as_filled_in(tenant_a, sales):
    deal = qualified_deal(sales, need="   ")
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.move_deal(deal, to_stage=sales["Qualified"], by=tenant_a.rep.user)
    assert _codes(exc.value) == ["entry:field:need"]


def test_proposal_requires_amount_and_expected_close(tenant_a, sales):
    deal = factories.DealFactory(stage=sales["Discovery"], amount=None)
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.move_deal(deal, to_stage=sales["Proposal"], by=tenant_a.manager.user)
    assert {"entry:field:amount", "entry:field:expected_close"} <= set(_codes(exc.value))


# Required fields, on exit


def test_an_exit_field_criterion_holds_the_deal_in_its_stage(tenant_a, sales):
    factories.StageCriterionFactory(
        stage=sales["New lead"], when="exit", kind="field", field_name="primary_contact"
    )
    deal = qualified_deal(sales)
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.move_deal(deal, to_stage=sales["Qualified"], by=tenant_a.rep.user)
    assert _codes(exc.value) == ["exit:field:primary_contact"]
    assert exc.value.unmet[0].label == "Primary contact is required to leave New lead."
    contact = factories.ContactFactory()
    services.move_deal(
        deal, to_stage=sales["Qualified"], by=tenant_a.rep.user, fields={"primary_contact": contact}
    )
    assert Deal.objects.get(pk=deal.pk).stage == sales["Qualified"]


def test_a_custom_field_criterion_reads_the_custom_values(tenant_a, sales):
    factories.StageCriterionFactory(
        stage=sales["Negotiation"], when="entry", kind="field", field_name="custom:po_number"
    )
    deal = qualified_deal(sales, stage=sales["Proposal"])
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.move_deal(deal, to_stage=sales["Negotiation"], by=tenant_a.rep.user)
    assert exc.value.missing_fields == ["custom:po_number"]
    services.move_deal(
        deal,
        to_stage=sales["Negotiation"],
        by=tenant_a.rep.user,
        fields={"custom_fields": {"po_number": "PO-77"}},
    )
    assert Deal.objects.get(pk=deal.pk).stage == sales["Negotiation"]


# Required activities


def test_leaving_discovery_needs_a_meeting_logged_while_in_discovery(tenant_a, sales):
    with time_machine.travel(timezone.now() - timedelta(days=10)):
        deal = qualified_deal(sales, stage=sales["Discovery"], owner=tenant_a.rep.user)
    # A meeting before the deal entered Discovery does not count, nor does a call now.
    factories.DealActivityFactory(
        deal=deal,
        activity__kind="meeting",
        activity__occurred_at=deal.stage_entered_at - timedelta(days=1),
    )
    factories.DealActivityFactory(deal=deal, activity__kind="call")
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.move_deal(deal, to_stage=sales["Proposal"], by=tenant_a.rep.user)
    [unmet] = exc.value.unmet
    assert (unmet.kind, unmet.activity_kind, unmet.scope) == ("activity", "meeting", "in_stage")
    assert unmet.label == "A meeting logged while in Discovery"
    services.log_deal_activity(deal, by=tenant_a.rep.user, kind="meeting", subject="Demo")
    services.move_deal(deal, to_stage=sales["Proposal"], by=tenant_a.rep.user)
    assert Deal.objects.get(pk=deal.pk).stage == sales["Proposal"]


def test_an_exit_activity_ever_counts_activities_from_any_stage(tenant_a, sales):
    factories.StageCriterionFactory(
        stage=sales["Negotiation"], when="exit", kind="activity", field_name="",
        activity_kind="email", activity_scope="ever", min_count=2,
    )  # fmt: skip
    deal = qualified_deal(sales, stage=sales["Negotiation"])
    factories.DealActivityFactory(
        deal=deal, activity__kind="email", activity__occurred_at=timezone.now() - timedelta(days=90)
    )
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.move_deal(deal, to_stage=sales["Won"], by=tenant_a.rep.user)
    [unmet] = exc.value.unmet
    assert (unmet.needed, unmet.found) == (2, 1)
    assert unmet.label == "At least 2 e-mails logged on the deal"
    factories.DealActivityFactory(deal=deal, activity__kind="email")
    services.move_deal(deal, to_stage=sales["Won"], by=tenant_a.rep.user)
    assert Deal.objects.get(pk=deal.pk).status == "won"


def test_an_entry_activity_ever_is_met_by_an_old_activity(tenant_a, sales):
    factories.StageCriterionFactory(
        stage=sales["Negotiation"], when="entry", kind="activity", field_name="",
        activity_kind="any", activity_scope="ever",
    )  # fmt: skip
    deal = qualified_deal(sales, stage=sales["Proposal"])
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.move_deal(deal, to_stage=sales["Negotiation"], by=tenant_a.rep.user)
    assert _codes(exc.value) == ["entry:activity:any:ever"]
    factories.DealActivityFactory(
        deal=deal, activity__kind="note", activity__occurred_at=timezone.now() - timedelta(days=300)
    )
    services.move_deal(deal, to_stage=sales["Negotiation"], by=tenant_a.rep.user)


def test_an_entry_activity_in_stage_must_happen_in_the_stage_before(tenant_a, sales):
    factories.StageCriterionFactory(
        stage=sales["Negotiation"], when="entry", kind="activity", field_name="",
        activity_kind="call", activity_scope="in_stage",
    )  # fmt: skip
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        deal = qualified_deal(sales, stage=sales["Proposal"])
    factories.DealActivityFactory(
        deal=deal, activity__kind="call", activity__occurred_at=timezone.now() - timedelta(days=5)
    )
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.move_deal(deal, to_stage=sales["Negotiation"], by=tenant_a.rep.user)
    assert exc.value.unmet[0].label == "A call logged in the stage before"
    factories.DealActivityFactory(deal=deal, activity__kind="call")
    services.move_deal(deal, to_stage=sales["Negotiation"], by=tenant_a.rep.user)


def test_activities_of_another_deal_do_not_count(tenant_a, sales):
    deal = qualified_deal(sales, stage=sales["Discovery"])
    other = qualified_deal(sales, stage=sales["Discovery"], organization=deal.organization)
    factories.DealActivityFactory(deal=other, activity__kind="meeting")
    with pytest.raises(StageCriteriaUnmet):
        services.move_deal(deal, to_stage=sales["Proposal"], by=tenant_a.rep.user)


# What a move records


def test_a_move_records_the_transition_with_the_time_spent_in_the_stage_left(tenant_a, sales):
    start = timezone.now() - timedelta(days=9, hours=2)
    with time_machine.travel(start, tick=False):
        deal = qualified_deal(sales, stage=sales["Proposal"])
    transition = services.move_deal(deal, to_stage=sales["Negotiation"], by=tenant_a.rep.user)
    assert transition.from_stage == sales["Proposal"]
    assert transition.to_stage == sales["Negotiation"]
    assert transition.by == tenant_a.rep.user
    assert abs(transition.seconds_in_stage - (9 * 86400 + 7200)) < 5
    deal.refresh_from_db()
    assert deal.stage_entered_at == transition.at
    assert deal.dwell_due_at == transition.at + timedelta(days=21)
    assert deal.version == 2
    event = AuditEvent.objects.get(verb="deal.moved", target_id=deal.pk)
    assert event.changes["stage"] == [sales["Proposal"].pk, sales["Negotiation"].pk]


def test_won_closes_the_deal_and_lost_needs_a_reason(tenant_a, sales):
    won = qualified_deal(sales, stage=sales["Negotiation"])
    services.win_deal(won, by=tenant_a.rep.user)
    won.refresh_from_db()
    assert (won.status, won.closed_at is not None, won.dwell_due_at) == ("won", True, None)

    lost = qualified_deal(sales, stage=sales["Negotiation"])
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.lose_deal(lost, by=tenant_a.rep.user, reason=None)
    assert exc.value.missing_fields == ["lost_reason"]
    assert not exc.value.can_override
    with pytest.raises(StageCriteriaUnmet):  # not even a manager skips the reason
        services.lose_deal(lost, by=tenant_a.manager.user, reason=None, override_reason="Gone")
    services.lose_deal(lost, by=tenant_a.rep.user, reason=sales.reasons[0], note="Went with X")
    lost.refresh_from_db()
    assert (lost.status, lost.lost_reason, lost.lost_note) == (
        "lost",
        sales.reasons[0],
        "Went with X",
    )


def test_won_and_lost_are_terminal_unless_a_manager_reopens(tenant_a, sales):
    deal = qualified_deal(sales, stage=sales["Negotiation"])
    services.lose_deal(deal, by=tenant_a.rep.user, reason=sales.reasons[1])
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.move_deal(deal, to_stage=sales["Negotiation"], by=tenant_a.rep.user)
    assert _codes(exc.value) == ["rule:reopen"]
    services.move_deal(
        deal,
        to_stage=sales["Negotiation"],
        by=tenant_a.manager.user,
        override_reason="They called back",
    )
    deal.refresh_from_db()
    assert (deal.status, deal.closed_at, deal.lost_reason) == ("open", None, None)


# Overrides


def test_a_manager_overrides_a_refusal_with_a_written_reason(tenant_a, sales):
    deal = factories.DealFactory(stage=sales["New lead"], owner=tenant_a.rep.user)
    transition = services.move_deal(
        deal,
        to_stage=sales["Qualified"],
        by=tenant_a.manager.user,
        override_reason="Qualified on the phone with the CEO; details follow.",
    )
    assert transition.is_override
    assert transition.override_reason.startswith("Qualified on the phone")
    assert [o["field"] for o in transition.overridden] == [
        "budget",
        "authority",
        "need",
        "timeline",
    ]
    event = AuditEvent.objects.get(verb="deal.moved", target_id=deal.pk)
    assert event.changes["override_reason"][1].startswith("Qualified on the phone")


def test_a_rep_cannot_override(tenant_a, sales):
    deal = factories.DealFactory(stage=sales["New lead"], owner=tenant_a.rep.user)
    with pytest.raises(PermissionDenied):
        services.move_deal(
            deal, to_stage=sales["Qualified"], by=tenant_a.rep.user, override_reason="Trust me"
        )
    assert Deal.objects.get(pk=deal.pk).stage == sales["New lead"]


def test_an_override_without_a_reason_is_still_a_refusal(tenant_a, sales):
    deal = factories.DealFactory(stage=sales["New lead"])
    with pytest.raises(StageCriteriaUnmet):
        services.move_deal(
            deal, to_stage=sales["Qualified"], by=tenant_a.manager.user, override_reason="   "
        )


# Concurrent edits (the two-connection race is in test_concurrency.py)


def test_a_move_based_on_an_old_version_is_refused(tenant_a, sales):
    deal = qualified_deal(sales, stage=sales["Proposal"])
    stale = Deal.objects.get(pk=deal.pk)
    services.move_deal(deal, to_stage=sales["Negotiation"], by=tenant_a.manager.user)
    with pytest.raises(DealChanged) as exc:
        services.move_deal(stale, to_stage=sales["Won"], by=tenant_a.rep.user)
    assert "now in Negotiation" in exc.value.messages[0]
    assert StageTransition.objects.filter(deal=deal).count() == 2


def test_expected_version_is_checked_against_the_database(tenant_a, sales):
    deal = qualified_deal(sales, stage=sales["Proposal"])
    with pytest.raises(DealChanged):
        services.move_deal(
            deal, to_stage=sales["Negotiation"], by=tenant_a.rep.user, expected_version=7
        )


# Refusals that are not criteria


def test_refuses_a_stage_of_another_pipeline_or_the_same_stage(tenant_a, sales):
    deal = qualified_deal(sales, stage=sales["Proposal"])
    with pytest.raises(ValidationError, match="already in Proposal"):
        services.move_deal(deal, to_stage=sales["Proposal"], by=tenant_a.rep.user)
    elsewhere = factories.StageFactory()
    with pytest.raises(ValidationError, match="Choose a stage of Sales"):
        services.move_deal(deal, to_stage=elsewhere, by=tenant_a.rep.user)


def test_refuses_a_stage_of_another_tenant(org_a, org_b):
    from tests.pipeline.conftest import default_sales

    with org_b.activate():
        foreign = default_sales(org_b)["Negotiation"]
    with org_a.activate():
        sales = default_sales(org_a)
        deal = qualified_deal(sales, stage=sales["Proposal"])
        with pytest.raises(ValidationError):
            services.move_deal(deal, to_stage=foreign, by=org_a.admin.user)
        assert Deal.objects.get(pk=deal.pk).stage == sales["Proposal"]
