"""Creating and editing deals, and their activities and tasks."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contacts.models import Activity
from crm.models import AuditEvent
from pipeline import services
from pipeline.models import Deal, DealActivity, DealContact, DealTask, StageTransition
from pipeline.services import DealChanged, StageCriteriaUnmet
from tests import factories
from tests.pipeline.conftest import qualified_deal


def test_create_deal_opens_it_in_the_first_stage_with_its_first_transition(tenant_a, sales):
    org = factories.OrganizationFactory()
    deal = services.create_deal(by=tenant_a.rep.user, name="  Acme rollout ", organization=org)
    assert (deal.name, deal.pipeline, deal.stage) == (
        "Acme rollout",
        sales.pipeline,
        sales["New lead"],
    )
    assert (deal.owner, deal.currency, deal.status) == (tenant_a.rep.user, "EUR", "open")
    first = StageTransition.objects.get(deal=deal)
    assert (first.from_stage, first.to_stage, first.at) == (
        None,
        sales["New lead"],
        deal.created_at,
    )
    assert deal.dwell_due_at is not None
    assert AuditEvent.objects.filter(verb="deal.created", target_id=deal.pk).exists()


def test_create_deal_applies_the_entry_criteria_of_its_stage(tenant_a, sales):
    org = factories.OrganizationFactory()
    with pytest.raises(StageCriteriaUnmet) as exc:
        services.create_deal(
            by=tenant_a.rep.user, name="Big one", organization=org, stage=sales["Proposal"]
        )
    assert exc.value.missing_fields == ["amount", "expected_close"]
    assert Deal.objects.count() == 0
    deal = services.create_deal(
        by=tenant_a.rep.user,
        name="Big one",
        organization=org,
        stage=sales["Proposal"],
        amount=10,
        expected_close=date(2030, 1, 31),
    )
    assert deal.stage == sales["Proposal"]


def test_create_deal_refuses_a_closed_stage_and_a_deal_linked_to_nobody(tenant_a, sales):
    with pytest.raises(ValidationError) as exc:
        services.create_deal(by=tenant_a.rep.user, name="Nobody")
    assert "organization" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.create_deal(
            by=tenant_a.rep.user,
            name="Won already",
            organization=factories.OrganizationFactory(),
            stage=sales["Won"],
        )
    assert "stage" in exc.value.message_dict


def test_create_deal_refuses_an_owner_from_outside_the_tenant(tenant_a, sales, org_b):
    with pytest.raises(ValidationError) as exc:
        services.create_deal(
            by=tenant_a.rep.user,
            name="X",
            organization=factories.OrganizationFactory(),
            owner=org_b.rep.user,
        )
    assert "owner" in exc.value.message_dict


def test_create_deal_keeps_other_contacts(tenant_a, sales):
    org = factories.OrganizationFactory()
    people = [factories.ContactFactory(organization=org) for _ in range(2)]
    deal = services.create_deal(
        by=tenant_a.rep.user,
        name="Team",
        organization=org,
        primary_contact=people[0],
        contacts=people,
    )
    assert set(deal.contacts.all()) == set(people)
    services.update_deal(deal, by=tenant_a.rep.user, contacts=people[1:])
    assert list(DealContact.objects.filter(deal=deal).values_list("contact", flat=True)) == [
        people[1].pk
    ]


def test_update_deal_records_the_change_and_bumps_the_version(tenant_a, sales):
    deal = qualified_deal(sales)
    services.update_deal(deal, by=tenant_a.rep.user, amount=99, need="More")
    deal.refresh_from_db()
    assert (deal.amount, deal.need, deal.version) == (99, "More", 2)
    event = AuditEvent.objects.get(verb="deal.updated", target_id=deal.pk)
    assert set(event.changes) == {"amount", "need"}


def test_update_deal_cannot_change_the_stage(tenant_a, sales):
    deal = qualified_deal(sales)
    with pytest.raises(TypeError):
        services.update_deal(deal, by=tenant_a.rep.user, stage=sales["Won"])


def test_update_deal_refuses_clearing_what_the_current_stage_requires(tenant_a, sales):
    deal = qualified_deal(sales, stage=sales["Qualified"])
    with pytest.raises(ValidationError) as exc:
        services.update_deal(deal, by=tenant_a.rep.user, budget=None)
    assert "budget" in exc.value.message_dict
    assert Deal.objects.get(pk=deal.pk).budget == 50_000


def test_update_deal_based_on_an_old_version_is_refused(tenant_a, sales):
    deal = qualified_deal(sales)
    services.update_deal(Deal.objects.get(pk=deal.pk), by=tenant_a.manager.user, amount=5)
    with pytest.raises(DealChanged):
        services.update_deal(deal, by=tenant_a.rep.user, amount=7)
    assert Deal.objects.get(pk=deal.pk).amount == 5


def test_contract_end_before_start_is_refused(tenant_a, sales):
    deal = qualified_deal(sales)
    with pytest.raises(ValidationError) as exc:
        services.update_deal(
            deal,
            by=tenant_a.rep.user,
            contract_start=date(2030, 2, 1),
            contract_end=date(2030, 1, 1),
        )
    assert "contract_end" in exc.value.message_dict


def test_log_deal_activity_files_it_under_the_contact_and_links_it(tenant_a, sales):
    contact = factories.ContactFactory()
    deal = qualified_deal(sales, primary_contact=contact)
    activity = services.log_deal_activity(deal, by=tenant_a.rep.user, kind="call", subject="Hi")
    assert (activity.contact, activity.organization) == (contact, deal.organization)
    assert DealActivity.objects.get(activity=activity).deal == deal


def test_log_deal_activity_refuses_what_contacts_refuses(tenant_a, sales):
    deal = qualified_deal(sales)
    with pytest.raises(ValidationError):
        services.log_deal_activity(
            deal, by=tenant_a.rep.user, kind="call", subject="x", outcome="no_show"
        )
    assert Activity.objects.count() == 0
    assert DealActivity.objects.count() == 0


def test_an_activity_belongs_to_one_deal(tenant_a, sales):
    deal, other = qualified_deal(sales), qualified_deal(sales)
    activity = factories.ActivityFactory()
    services.link_activity(deal, activity=activity, by=tenant_a.rep.user)
    services.link_activity(deal, activity=activity, by=tenant_a.rep.user)  # again: no change
    with pytest.raises(ValidationError):
        services.link_activity(other, activity=activity, by=tenant_a.rep.user)
    assert DealActivity.objects.filter(activity=activity).count() == 1


def test_create_deal_task_assigns_the_owner_and_is_idempotent_with_a_key(tenant_a, sales):
    deal = qualified_deal(sales, owner=tenant_a.rep2.user)
    task = services.create_deal_task(deal, by=None, title="Call back", source_key="stale:1")
    again = services.create_deal_task(deal, by=None, title="Call back", source_key="stale:1")
    assert task == again
    assert task.assignee == tenant_a.rep2.user
    assert DealTask.objects.get(task=task).deal == deal


def test_a_manager_may_create_a_deal_past_the_criteria_with_a_reason(tenant_a, sales):
    org = factories.OrganizationFactory()
    with pytest.raises(PermissionDenied):
        services.create_deal(
            by=tenant_a.rep.user,
            name="X",
            organization=org,
            stage=sales["Proposal"],
            override_reason="Import",
        )
    deal = services.create_deal(
        by=tenant_a.manager.user,
        name="X",
        organization=org,
        stage=sales["Proposal"],
        override_reason="Import",
    )
    assert StageTransition.objects.get(deal=deal).override_reason == "Import"
