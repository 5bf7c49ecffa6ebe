"""Lead assignment: rules give new contacts and deals that nobody owns to a member, in turn."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from contacts import services as contact_services
from contacts.models import AssignmentRule, Contact
from contacts.services.assignment import (
    create_assignment_rule,
    delete_assignment_rule,
    update_assignment_rule,
)
from crm.models import AuditEvent, AutomationLog
from crm.tenancy import tenant_context
from pipeline import services
from tests import factories
from tests.automation import notices, sales_of


def _rule(org, name="Inbound", members=None, **fields):
    with org.activate():
        return create_assignment_rule(
            by=org.admin.user,
            name=name,
            members=[m.user for m in (members if members is not None else [org.rep, org.rep2])],
            **fields,
        )


def _contact(org, n, **fields):
    with org.activate():
        return contact_services.create_contact(
            by=org.admin.user, first_name="Lead", last_name=f"Number {n}", **fields
        )


def test_new_contacts_without_an_owner_go_round_the_chosen_reps(org_a):
    _rule(org_a)
    owners = [_contact(org_a, n).owner_id for n in range(5)]
    rep, rep2 = org_a.rep.user.pk, org_a.rep2.user.pk
    assert owners == [rep, rep2, rep, rep2, rep]
    with org_a.activate():
        assert list(Contact.objects.order_by("pk").values_list("owner_id", flat=True)) == owners
        assert AutomationLog.objects.filter(automation="assignment").count() == 5
        assert AuditEvent.objects.filter(verb="contact.assigned").count() == 5
    [first, *_] = notices(org_a, org_a.rep.user, "assignment")
    assert first.title == "New contact for you: Lead Number 0"


def test_a_contact_created_with_an_owner_keeps_it(org_a):
    _rule(org_a)
    contact = _contact(org_a, 1, owner=org_a.manager.user)
    assert contact.owner_id == org_a.manager.user.pk
    with org_a.activate():
        assert not AutomationLog.objects.exists()


def test_the_first_matching_rule_wins_by_source_and_territory(org_a):
    _rule(org_a, "Referrals", members=[org_a.manager], source="referral", position=1)
    _rule(org_a, "DACH", members=[org_a.rep2], territory="Germany", position=2)
    _rule(org_a, "Everyone else", members=[org_a.rep], position=3)
    with org_a.activate():
        berlin = factories.OrganizationFactory(country="Germany")
        paris = factories.OrganizationFactory(country="France", region="Île-de-France")
    assert (
        _contact(org_a, 1, lead_source="referral", organization=berlin).owner == org_a.manager.user
    )
    assert _contact(org_a, 2, organization=berlin).owner == org_a.rep2.user
    assert _contact(org_a, 3, organization=paris).owner == org_a.rep.user
    assert _contact(org_a, 4).owner == org_a.rep.user


def test_deals_without_a_chosen_owner_go_by_size(org_a):
    sales = sales_of(org_a)
    _rule(
        org_a, "Big deals", members=[org_a.manager], min_amount=Decimal(100_000), applies_to="deals"
    )
    _rule(org_a, "Small deals", members=[org_a.rep2], applies_to="deals")

    def deal(amount, owner=None):
        with org_a.activate():
            return services.create_deal(
                by=org_a.rep.user,
                name=f"Deal {amount}",
                stage=sales["New lead"],
                organization=factories.OrganizationFactory(),
                amount=amount,
                owner=owner,
            )

    assert deal(250_000).owner == org_a.manager.user
    assert deal(5_000).owner == org_a.rep2.user
    assert deal(5_000, owner=org_a.rep.user).owner == org_a.rep.user
    assert (
        notices(org_a, org_a.manager.user, "assignment")[0].title == "New deal for you: Deal 250000"
    )
    assert _contact(org_a, 1).owner is None  # the rules are for deals only


def test_members_who_left_are_skipped(org_a):
    _rule(org_a)
    with org_a.activate():
        org_a.rep.is_active = False
        org_a.rep.save(update_fields=["is_active"])
    assert {_contact(org_a, n).owner_id for n in range(3)} == {org_a.rep2.user.pk}


def test_inactive_rules_and_other_tenants_rules_do_not_apply(org_a, org_b):
    rule = _rule(org_a)
    assert _contact(org_b, 1).owner is None
    with org_a.activate():
        update_assignment_rule(rule, by=org_a.admin.user, is_active=False)
    assert _contact(org_a, 2).owner is None


def test_rules_are_validated(org_a, org_b):
    with pytest.raises(ValidationError):
        _rule(org_a, members=[])
    with pytest.raises(ValidationError):
        _rule(org_a, members=[org_b.rep])  # not a member here
    with pytest.raises(ValidationError):
        _rule(org_a, applies_to="contacts", min_amount=Decimal(10))
    with pytest.raises(ValidationError):
        _rule(org_a, source="carrier-pigeon")
    _rule(org_a)
    with pytest.raises(ValidationError):
        _rule(org_a, name="inbound")
    with org_a.activate():
        delete_assignment_rule(AssignmentRule.objects.get(), by=org_a.admin.user)
        assert not AssignmentRule.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_round_robin_stays_fair_when_contacts_are_created_at_the_same_moment(org_a):
    _rule(org_a)
    count = 10
    barrier = threading.Barrier(count)
    errors = []

    def create(n):
        try:
            with transaction.atomic(), tenant_context(org_a.tenant):
                barrier.wait(timeout=10)
                contact_services.create_contact(
                    by=org_a.admin.user, first_name="Racer", last_name=f"No {n}"
                )
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with org_a.activate():
        owners = list(Contact.objects.values_list("owner_id", flat=True))
        assert AssignmentRule.objects.get().assigned_count == count
    assert sorted(owners.count(u) for u in (org_a.rep.user.pk, org_a.rep2.user.pk)) == [5, 5]
