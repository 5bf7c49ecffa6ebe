"""Merging duplicates keeps every activity, task and link and records what was merged."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from contacts import services
from contacts.models import Activity, Contact, Organization, RecentRecord, Task
from crm.models import AuditEvent
from tests import factories


def test_merge_contacts_moves_every_activity_and_task_and_keeps_the_duplicate(tenant_a):
    survivor = factories.ContactFactory(email="jane@acme.com", phone="")
    duplicate = factories.ContactFactory(
        email="jane.doe@acme.com", phone="+49 30 123456", job_title="CTO"
    )
    for _ in range(3):
        factories.ActivityFactory(contact=duplicate)
    factories.ActivityFactory(contact=survivor)
    factories.TaskFactory(contact=duplicate, assignee=tenant_a.rep.user)

    services.merge_contacts(survivor, duplicate=duplicate, by=tenant_a.manager.user)

    assert Activity.objects.filter(contact=survivor).count() == 4
    assert Task.objects.filter(contact=survivor).count() == 1
    assert not Activity.objects.filter(contact=duplicate).exists()
    duplicate.refresh_from_db()
    survivor.refresh_from_db()
    assert duplicate.merged_into == survivor and duplicate.merged_at is not None
    assert list(Contact.objects.live()) == [survivor]
    # The survivor keeps its e-mail, takes what it lacked.
    assert survivor.email == "jane@acme.com"
    assert (survivor.phone, survivor.job_title) == ("+49 30 123456", "CTO")


def test_merge_records_what_was_merged(tenant_a):
    survivor = factories.ContactFactory()
    duplicate = factories.ContactFactory(first_name="Janet", job_title="CFO")
    factories.ActivityFactory(contact=duplicate)
    services.merge_contacts(survivor, duplicate=duplicate, by=tenant_a.manager.user)
    event = AuditEvent.objects.get(verb="contact.merged")
    assert event.target_id == survivor.pk
    assert event.changes["merged"]["id"] == duplicate.pk
    assert event.changes["merged"]["values"]["first_name"] == "Janet"
    assert event.changes["filled"] == {"job_title": "CFO"}
    assert event.changes["moved"]["contacts.activity"] == 1
    assert AuditEvent.objects.filter(verb="contact.merged_into", target_id=duplicate.pk).exists()


def test_the_survivor_may_take_the_duplicates_email(tenant_a):
    survivor = factories.ContactFactory(email="")
    duplicate = factories.ContactFactory(email="only@acme.com")
    services.merge_contacts(survivor, duplicate=duplicate, by=tenant_a.manager.user)
    survivor.refresh_from_db()
    assert survivor.email == "only@acme.com"


def test_merge_keeps_one_recently_viewed_entry_per_member(tenant_a):
    survivor, duplicate = factories.ContactFactory(), factories.ContactFactory()
    services.touch_record(survivor, by=tenant_a.rep.user)
    services.touch_record(duplicate, by=tenant_a.rep.user)
    services.touch_record(duplicate, by=tenant_a.rep2.user)
    services.merge_contacts(survivor, duplicate=duplicate, by=tenant_a.manager.user)
    assert RecentRecord.objects.filter(contact=survivor).count() == 2
    assert not RecentRecord.objects.filter(contact=duplicate).exists()


def test_merge_organizations_moves_contacts_activities_and_tasks(tenant_a):
    survivor = factories.OrganizationFactory(name="Acme Corp", industry="")
    duplicate = factories.OrganizationFactory(name="ACME Corporation", industry="software")
    contacts = [factories.ContactFactory(organization=duplicate) for _ in range(2)]
    factories.ActivityFactory(contact=contacts[0], organization=duplicate)
    factories.TaskFactory(organization=duplicate, assignee=tenant_a.rep.user)

    services.merge_organizations(survivor, duplicate=duplicate, by=tenant_a.manager.user)

    assert set(Contact.objects.filter(organization=survivor)) == set(contacts)
    assert Activity.objects.filter(organization=survivor).count() == 1
    assert Task.objects.filter(organization=survivor).count() == 1
    survivor.refresh_from_db()
    assert survivor.industry == "software"
    assert list(Organization.objects.live()) == [survivor]


def test_earlier_merges_follow_the_new_survivor(tenant_a):
    a, b, c = (factories.ContactFactory() for _ in range(3))
    services.merge_contacts(b, duplicate=c, by=tenant_a.manager.user)
    services.merge_contacts(a, duplicate=b, by=tenant_a.manager.user)
    c.refresh_from_db()
    assert c.merged_into == a


def test_merge_refuses_the_same_record_and_an_already_merged_one(tenant_a):
    a, b, c = (factories.ContactFactory() for _ in range(3))
    with pytest.raises(ValidationError):
        services.merge_contacts(a, duplicate=a, by=tenant_a.manager.user)
    services.merge_contacts(a, duplicate=b, by=tenant_a.manager.user)
    with pytest.raises(ValidationError):
        services.merge_contacts(c, duplicate=b, by=tenant_a.manager.user)
    assert Contact.objects.get(pk=b.pk).merged_into == a


def test_merge_refuses_a_record_of_another_tenant(org_a, org_b):
    with org_b.activate():
        foreign = factories.ContactFactory()
    with org_a.activate():
        mine = factories.ContactFactory()
        with pytest.raises(ValidationError):
            services.merge_contacts(mine, duplicate=foreign, by=org_a.manager.user)
    with org_b.activate():
        foreign.refresh_from_db()
        assert foreign.merged_into is None


def test_merge_moves_links_of_later_apps_and_keeps_one_per_deal(tenant_a):
    """Deals link to contacts through pipeline's own table; merge finds it without knowing it."""
    from pipeline.models import Deal, DealContact

    survivor, duplicate = factories.ContactFactory(), factories.ContactFactory()
    both, only_dup = factories.DealFactory(), factories.DealFactory()
    DealContact.objects.create(deal=both, contact=survivor)
    DealContact.objects.create(deal=both, contact=duplicate)
    DealContact.objects.create(deal=only_dup, contact=duplicate)
    Deal.objects.filter(pk=only_dup.pk).update(primary_contact=duplicate)

    services.merge_contacts(survivor, duplicate=duplicate, by=tenant_a.manager.user)

    assert set(DealContact.objects.values_list("deal_id", "contact_id")) == {
        (both.pk, survivor.pk),
        (only_dup.pk, survivor.pk),
    }
    assert Deal.objects.get(pk=only_dup.pk).primary_contact_id == survivor.pk
