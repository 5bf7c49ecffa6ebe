"""Services for organizations and contacts: create, update, bulk changes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from contacts import services
from contacts.models import Contact, Organization
from crm.models import AuditEvent
from tests import factories


def test_create_organization_normalizes_name_key_and_domain(tenant_a):
    org = services.create_organization(
        by=tenant_a.rep.user, name="  Acme, Inc. ", website="https://www.Acme.com/about"
    )
    assert org.name == "Acme, Inc."
    assert org.name_key == "acme"
    assert org.domain == "acme.com"
    assert org.tenant == tenant_a.tenant
    assert org.created_by == tenant_a.rep.user
    event = AuditEvent.objects.get(verb="organization.created")
    assert event.target_id == org.pk
    assert event.changes["name"] == [None, "Acme, Inc."]


@pytest.mark.parametrize("second", ["ACME Corporation", "Acme, Inc.", "acme corp."])
def test_create_organization_warns_about_a_similar_name(tenant_a, second):
    first = services.create_organization(by=tenant_a.rep.user, name="Acme Corp")
    with pytest.raises(services.DuplicateFound) as exc:
        services.create_organization(by=tenant_a.rep.user, name=second)
    assert [m.record for m in exc.value.matches] == [first]
    assert not exc.value.blocking
    assert Organization.objects.count() == 1


def test_create_organization_warns_about_the_same_domain(tenant_a):
    first = services.create_organization(by=tenant_a.rep.user, name="Initech", domain="initech.com")
    with pytest.raises(services.DuplicateFound) as exc:
        services.create_organization(
            by=tenant_a.rep.user, name="Initech Labs", website="http://www.initech.com"
        )
    assert exc.value.matches[0].record == first
    assert exc.value.matches[0].reason == "same domain"


def test_create_organization_saves_a_confirmed_duplicate(tenant_a):
    services.create_organization(by=tenant_a.rep.user, name="Acme Corp")
    services.create_organization(by=tenant_a.rep.user, name="Acme, Inc.", allow_duplicate=True)
    assert Organization.objects.count() == 2


def test_duplicates_are_not_found_in_another_tenant(org_a, org_b):
    with org_b.activate():
        services.create_organization(by=org_b.rep.user, name="Acme Corp", domain="acme.com")
    with org_a.activate():
        org = services.create_organization(
            by=org_a.rep.user, name="ACME Corporation", domain="acme.com"
        )
        assert org.pk


def test_create_organization_refuses_a_bad_domain_and_an_unknown_industry(tenant_a):
    with pytest.raises(ValidationError) as exc:
        services.create_organization(by=tenant_a.rep.user, name="X", domain="not a domain")
    assert "domain" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.create_organization(by=tenant_a.rep.user, name="X", industry="alchemy")
    assert "industry" in exc.value.message_dict
    assert Organization.objects.count() == 0


def test_create_organization_refuses_an_owner_from_another_tenant(org_a, org_b):
    with org_a.activate(), pytest.raises(ValidationError) as exc:
        services.create_organization(by=org_a.rep.user, name="X", owner=org_b.rep.user)
    assert "owner" in exc.value.message_dict
    with org_a.activate():
        assert Organization.objects.count() == 0


def test_create_organization_refuses_too_long_text(tenant_a):
    with pytest.raises(ValidationError) as exc:
        services.create_organization(by=tenant_a.rep.user, name="x" * 201)
    assert "name" in exc.value.message_dict


def test_update_organization_records_only_what_changed(tenant_a):
    org = factories.OrganizationFactory(name="Umbrella", city="Berlin")
    services.update_organization(org, by=tenant_a.rep.user, city="Hamburg", name="Umbrella")
    event = AuditEvent.objects.get(verb="organization.updated")
    assert event.changes == {"city": ["Berlin", "Hamburg"]}
    services.update_organization(org, by=tenant_a.rep.user, city="Hamburg")
    assert AuditEvent.objects.filter(verb="organization.updated").count() == 1


def test_an_organization_keeps_an_industry_that_was_removed_from_the_list(tenant_a):
    org = factories.OrganizationFactory(industry="retired-value")
    services.update_organization(org, by=tenant_a.rep.user, city="Paris")
    org.refresh_from_db()
    assert org.industry == "retired-value"


def test_a_tenants_own_choice_list_replaces_the_defaults(tenant_a):
    factories.ChoiceOptionFactory(list="industry", value="aerospace", label="Aerospace")
    org = services.create_organization(by=tenant_a.rep.user, name="Rockets", industry="aerospace")
    assert org.industry == "aerospace"
    with pytest.raises(ValidationError):
        services.create_organization(by=tenant_a.rep.user, name="Soft", industry="software")


# Contacts


def test_create_contact_stores_lowercase_email_and_the_stage_it_starts_in(tenant_a):
    contact = services.create_contact(
        by=tenant_a.rep.user,
        first_name="Jane",
        last_name="Doe",
        email=" Jane.Doe@Example.COM ",
        lifecycle=Contact.Lifecycle.QUALIFIED_LEAD,
        owner=tenant_a.rep.user,
    )
    assert contact.email == "jane.doe@example.com"
    assert contact.created_lifecycle == "qualified_lead"
    services.update_contact(contact, by=tenant_a.rep.user, lifecycle=Contact.Lifecycle.CUSTOMER)
    contact.refresh_from_db()
    assert (contact.lifecycle, contact.created_lifecycle) == ("customer", "qualified_lead")


def test_create_contact_refuses_an_email_another_contact_has_in_any_case(tenant_a):
    existing = factories.ContactFactory(email="jane@example.com")
    with pytest.raises(services.DuplicateFound) as exc:
        services.create_contact(
            by=tenant_a.rep.user, first_name="J", email="JANE@Example.com", allow_duplicate=True
        )
    assert exc.value.blocking
    assert "email" in exc.value.message_dict
    assert [m.record for m in exc.value.matches] == [existing]
    assert Contact.objects.count() == 1


def test_the_database_refuses_a_second_contact_with_the_same_email(tenant_a):
    from django.db import IntegrityError, transaction

    factories.ContactFactory(email="jane@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ContactFactory(email="Jane@Example.com")


def test_the_same_email_is_fine_in_another_tenant(org_a, org_b):
    with org_b.activate():
        factories.ContactFactory(email="jane@example.com")
    with org_a.activate():
        contact = services.create_contact(
            by=org_a.rep.user, first_name="Jane", email="jane@example.com"
        )
        assert contact.pk


def test_contacts_without_email_do_not_collide(tenant_a):
    services.create_contact(by=tenant_a.rep.user, first_name="Ann", email="")
    services.create_contact(by=tenant_a.rep.user, first_name="Bob", email="")
    assert Contact.objects.count() == 2


def test_create_contact_refuses_an_invalid_email(tenant_a):
    with pytest.raises(ValidationError) as exc:
        services.create_contact(by=tenant_a.rep.user, first_name="Jane", email="not-an-email")
    assert "email" in exc.value.message_dict
    assert Contact.objects.count() == 0


def test_create_contact_warns_about_the_same_name(tenant_a):
    existing = factories.ContactFactory(first_name="Jane", last_name="Doe")
    with pytest.raises(services.DuplicateFound) as exc:
        services.create_contact(by=tenant_a.rep.user, first_name="jane", last_name="DOE")
    assert not exc.value.blocking
    assert exc.value.matches[0].record == existing
    services.create_contact(
        by=tenant_a.rep.user, first_name="jane", last_name="DOE", allow_duplicate=True
    )
    assert Contact.objects.count() == 2


def test_create_contact_refuses_an_organization_of_another_tenant(org_a, org_b):
    with org_b.activate():
        foreign = factories.OrganizationFactory()
    with org_a.activate():
        with pytest.raises(ValidationError) as exc:
            services.create_contact(by=org_a.rep.user, first_name="Jane", organization=foreign)
        assert "organization" in exc.value.message_dict
        assert Contact.objects.count() == 0


def test_update_contact_refuses_an_email_taken_by_another(tenant_a):
    factories.ContactFactory(email="taken@example.com")
    contact = factories.ContactFactory(email="mine@example.com")
    with pytest.raises(ValidationError) as exc:
        services.update_contact(contact, by=tenant_a.rep.user, email="TAKEN@example.com")
    assert "email" in exc.value.message_dict
    contact.refresh_from_db()
    assert contact.email == "mine@example.com"


def test_update_contact_may_keep_its_own_email(tenant_a):
    contact = factories.ContactFactory(email="mine@example.com")
    services.update_contact(
        contact, by=tenant_a.rep.user, email="MINE@example.com", job_title="CTO"
    )
    contact.refresh_from_db()
    assert contact.job_title == "CTO"


def test_an_update_writes_only_the_fields_it_changed(tenant_a):
    # Two people edit the same contact from pages loaded at the same time.
    contact = factories.ContactFactory(job_title="CTO", last_name="Doe")
    stale = Contact.objects.get(pk=contact.pk)
    services.update_contact(contact, by=tenant_a.rep.user, job_title="CEO")
    services.update_contact(stale, by=tenant_a.manager.user, last_name="Smith")
    contact.refresh_from_db()
    assert (contact.job_title, contact.last_name) == ("CEO", "Smith")
    assert contact.updated_by == tenant_a.manager.user


# Bulk


def test_assign_owner_changes_every_record_and_audits_each(tenant_a):
    contacts = [factories.ContactFactory(owner=tenant_a.rep.user) for _ in range(3)]
    changed = services.assign_owner(contacts, owner=tenant_a.rep2.user, by=tenant_a.manager.user)
    assert changed == 3
    assert set(Contact.objects.values_list("owner", flat=True)) == {tenant_a.rep2.user_id}
    assert AuditEvent.objects.filter(verb="contact.owner_changed").count() == 3


def test_assign_owner_refuses_someone_outside_the_tenant(org_a, org_b):
    with org_a.activate():
        contacts = [factories.ContactFactory(owner=org_a.rep.user)]
        with pytest.raises(ValidationError):
            services.assign_owner(contacts, owner=org_b.rep.user, by=org_a.manager.user)
        assert Contact.objects.get().owner == org_a.rep.user


def test_change_lifecycle_refuses_a_stage_of_the_other_kind(tenant_a):
    orgs = [factories.OrganizationFactory()]
    with pytest.raises(ValidationError):
        services.change_lifecycle(orgs, lifecycle="qualified_lead", by=tenant_a.manager.user)
    assert services.change_lifecycle(orgs, lifecycle="customer", by=tenant_a.manager.user) == 1
    assert Organization.objects.get().lifecycle == "customer"


@pytest.mark.parametrize(
    ("field", "value"),
    [("domain", "exa]mple.com"), ("domain", "[acme.com"), ("website", "https://acme.com:port/")],
)
def test_an_address_the_url_parser_cannot_read_is_refused_by_its_field(tenant_a, field, value):
    with pytest.raises(ValidationError) as exc:
        services.create_organization(by=tenant_a.rep.user, name="X", **{field: value})
    assert list(exc.value.message_dict) == [field]
    assert Organization.objects.count() == 0
