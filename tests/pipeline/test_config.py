"""Stage configuration: what admins may change, and what stays true whatever they do."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from pipeline import services
from pipeline.models import (
    Deal,
    LostReason,
    Pipeline,
    PipelineSettings,
    Stage,
    StageCriterion,
    StageTransition,
)
from tests.pipeline.conftest import qualified_deal


def test_new_tenants_get_the_sales_and_onboarding_pipelines(tenant_a, sales):
    names = [s.name for s in sales.pipeline.stages.all()]
    assert names == ["New lead", "Qualified", "Discovery", "Proposal", "Negotiation", "Won", "Lost"]
    qualified = {c.field_name for c in sales["Qualified"].criteria.all()}
    assert qualified == {"budget", "authority", "need", "timeline"}
    [meeting] = sales["Discovery"].criteria.all()
    assert (meeting.when, meeting.activity_kind, meeting.activity_scope) == (
        "exit",
        "meeting",
        "in_stage",
    )
    assert sales["Proposal"].max_dwell_days == 14
    assert {c.field_name for c in sales["Proposal"].criteria.all()} == {"amount", "expected_close"}
    onboarding = Pipeline.objects.get(kind="onboarding")
    assert [s.name for s in onboarding.stages.filter(kind="open")] == [
        "Contract signed", "Kickoff scheduled", "Setup in progress", "Training completed",
        "Go-live", "30-day review",
    ]  # fmt: skip
    assert PipelineSettings.objects.get().rotting_days == 14
    assert LostReason.objects.count() >= 5


def test_the_defaults_are_created_once(tenant_a, sales):
    services.create_default_pipelines(tenant=tenant_a.tenant, by=None)
    assert Pipeline.objects.count() == 2
    assert PipelineSettings.objects.count() == 1


def test_create_tenant_runs_the_pipeline_setup(db, settings):
    from django.db import transaction

    from crm.services import create_tenant
    from crm.tenancy import tenant_context

    tenant, _ = create_tenant(name="Initech", slug="initech", admin_email="boss@initech.test")
    with transaction.atomic(), tenant_context(tenant):
        assert Pipeline.objects.filter(kind="sales").exists()


def test_a_new_pipeline_starts_with_one_won_and_one_lost_stage(tenant_a, sales):
    pipeline = services.create_pipeline(by=tenant_a.admin.user, name="Renewals", kind="renewals")
    assert [s.kind for s in pipeline.stages.all()] == ["open", "won", "lost"]
    with pytest.raises(ValidationError):
        services.create_pipeline(by=tenant_a.admin.user, name="renewals")


def test_a_pipeline_has_exactly_one_won_and_one_lost_stage(tenant_a, sales):
    with pytest.raises(ValidationError) as exc:
        services.create_stage(sales.pipeline, by=tenant_a.admin.user, name="Won big", kind="won")
    assert "kind" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.update_stage(sales["Negotiation"], by=tenant_a.admin.user, kind="lost")
    with pytest.raises(ValidationError):
        services.update_stage(sales["Won"], by=tenant_a.admin.user, kind="open")
    with pytest.raises(ValidationError):
        services.delete_stage(sales["Lost"], by=tenant_a.admin.user)
    assert Stage.objects.filter(pipeline=sales.pipeline, kind="won").count() == 1


@pytest.mark.parametrize("probability", [-1, 101, None])
def test_probability_must_be_between_0_and_100(tenant_a, sales, probability):
    with pytest.raises(ValidationError) as exc:
        services.update_stage(sales["Proposal"], by=tenant_a.admin.user, probability=probability)
    assert "probability" in exc.value.message_dict
    assert Stage.objects.get(pk=sales["Proposal"].pk).probability == 60


def test_stage_names_are_unique_in_a_pipeline(tenant_a, sales):
    with pytest.raises(ValidationError):
        services.update_stage(sales["Proposal"], by=tenant_a.admin.user, name="qualified")


def test_a_new_open_stage_goes_before_won_and_lost(tenant_a, sales):
    stage = services.create_stage(
        sales.pipeline,
        by=tenant_a.admin.user,
        name="Legal review",
        probability=90,
        max_dwell_days=10,
    )
    names = [s.name for s in Stage.objects.filter(pipeline=sales.pipeline)]
    assert names[-3:] == ["Legal review", "Won", "Lost"]
    assert stage.position == 5


def test_reorder_keeps_won_and_lost_last(tenant_a, sales):
    order = [sales[n].pk for n in ["Qualified", "New lead", "Discovery", "Negotiation", "Proposal"]]
    services.reorder_stages(sales.pipeline, by=tenant_a.admin.user, stage_ids=order)
    names = [s.name for s in Stage.objects.filter(pipeline=sales.pipeline)]
    assert names == ["Qualified", "New lead", "Discovery", "Negotiation", "Proposal", "Won", "Lost"]
    with pytest.raises(ValidationError):
        services.reorder_stages(sales.pipeline, by=tenant_a.admin.user, stage_ids=order[:3])


def test_a_new_dwell_limit_applies_to_the_deals_in_the_stage(tenant_a, sales):
    deal = qualified_deal(sales, stage=sales["Negotiation"])
    services.update_stage(sales["Negotiation"], by=tenant_a.admin.user, max_dwell_days=3)
    deal.refresh_from_db()
    assert (deal.dwell_due_at - deal.stage_entered_at).days == 3
    services.update_stage(sales["Negotiation"], by=tenant_a.admin.user, max_dwell_days=None)
    deal.refresh_from_db()
    assert deal.dwell_due_at is None


def test_an_empty_unused_stage_is_deleted(tenant_a, sales):
    stage = services.create_stage(sales.pipeline, by=tenant_a.admin.user, name="Spare")
    services.delete_stage(stage, by=tenant_a.admin.user)
    assert not Stage.unscoped.filter(pk=stage.pk).exists()


def test_a_stage_with_deals_is_removed_only_by_moving_them(tenant_a, sales):
    deals = [qualified_deal(sales, stage=sales["Negotiation"]) for _ in range(3)]
    with pytest.raises(ValidationError) as exc:
        services.delete_stage(sales["Negotiation"], by=tenant_a.admin.user)
    assert "move_deals_to" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.delete_stage(
            sales["Negotiation"], by=tenant_a.admin.user, move_deals_to=sales["Won"]
        )
    moved = services.delete_stage(
        sales["Negotiation"], by=tenant_a.admin.user, move_deals_to=sales["Proposal"]
    )
    assert moved == 3
    assert set(Deal.objects.values_list("stage", flat=True)) == {sales["Proposal"].pk}
    assert all(d.version == 2 for d in Deal.objects.filter(pk__in=[d.pk for d in deals]))
    transitions = StageTransition.objects.filter(from_stage=sales["Negotiation"])
    assert transitions.count() == 3
    assert "removed" in transitions.first().override_reason
    # It has history, so it stays (archived) for the figures, but leaves the pipeline.
    archived = Stage.objects.get(pk=sales["Negotiation"].pk)
    assert archived.archived_at is not None
    assert sales["Negotiation"] not in Stage.objects.active()


def test_criteria_name_known_fields_and_activity_kinds(tenant_a, sales):
    stage = sales["Negotiation"]
    with pytest.raises(ValidationError):
        services.add_criterion(
            stage, by=tenant_a.admin.user, when="entry", kind="field", field_name="stage"
        )
    with pytest.raises(ValidationError):
        services.add_criterion(
            stage, by=tenant_a.admin.user, when="exit", kind="activity", activity_kind="lunch",
            activity_scope="ever",
        )  # fmt: skip
    with pytest.raises(ValidationError):
        services.add_criterion(
            sales["Won"], by=tenant_a.admin.user, when="exit", kind="field", field_name="amount"
        )
    criterion = services.add_criterion(
        stage, by=tenant_a.admin.user, when="entry", kind="field", field_name="custom:po_number"
    )
    with pytest.raises(ValidationError):
        services.add_criterion(
            stage, by=tenant_a.admin.user, when="entry", kind="field", field_name="custom:po_number"
        )
    services.remove_criterion(criterion, by=tenant_a.admin.user)
    assert not StageCriterion.objects.filter(stage=stage).exists()


def test_lost_reasons_are_an_editable_list(tenant_a, sales):
    reason = services.create_lost_reason(by=tenant_a.admin.user, label="Acquired")
    with pytest.raises(ValidationError):
        services.create_lost_reason(by=tenant_a.admin.user, label="acquired")
    services.update_lost_reason(
        reason, by=tenant_a.admin.user, label="Acquired by a rival", is_active=False
    )
    reason.refresh_from_db()
    assert (reason.label, reason.is_active) == ("Acquired by a rival", False)
    deal = qualified_deal(sales, stage=sales["Negotiation"])
    with pytest.raises(ValidationError):  # a retired reason is no longer offered
        services.lose_deal(deal, by=tenant_a.rep.user, reason=reason)


def test_rotting_days_are_between_1_and_365(tenant_a, sales):
    services.set_rotting_days(by=tenant_a.admin.user, days=21)
    assert PipelineSettings.objects.get().rotting_days == 21
    with pytest.raises(ValidationError):
        services.set_rotting_days(by=tenant_a.admin.user, days=0)
