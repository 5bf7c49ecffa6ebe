"""Search finds records by the beginning of any word of their names, e-mails and domains;
on PostgreSQL through the triggers' search terms, which follow every write."""

from __future__ import annotations

import pytest

from contacts import selectors, services
from contacts.models import Contact, Organization, SearchTerm
from governance.services import privacy
from tests import factories


def _names(results) -> list[str]:
    return [str(c) for c in results.contacts] + [o.name for o in results.organizations]


def test_any_word_of_a_name_e_mail_or_domain_is_found_by_its_beginning(tenant_a):
    acme = factories.OrganizationFactory(name="Acme Robotics GmbH", domain="acme-industries.com")
    factories.ContactFactory(
        first_name="Jane", last_name="Schmidt-Weber", email="j.schmidt@acme.test", organization=acme
    )
    factories.ContactFactory(first_name="Tom", last_name="Blacksmith", email="tom@b.test")

    assert _names(selectors.search("schm")) == ["Jane Schmidt-Weber"]
    assert _names(selectors.search("WEB")) == ["Jane Schmidt-Weber"]
    assert _names(selectors.search("jane schm")) == ["Jane Schmidt-Weber"]
    assert _names(selectors.search("j.schmidt@ac")) == ["Jane Schmidt-Weber"]
    assert _names(selectors.search("robot")) == ["Acme Robotics GmbH"]
    assert [o.name for o in selectors.search("acme-indus").organizations] == ["Acme Robotics GmbH"]
    assert selectors.search("jane tom").empty  # every word must match the same record


def test_a_rename_is_found_by_its_new_name_only(tenant_a):
    person = factories.ContactFactory(first_name="Ada", last_name="Byron", email="")
    org = factories.OrganizationFactory(name="Old Works", domain="")
    services.update_contact(person, by=tenant_a.admin.user, last_name="Lovelace")
    services.update_organization(org, by=tenant_a.admin.user, name="New Works")

    assert selectors.search("byron").empty
    assert _names(selectors.search("lovel")) == ["Ada Lovelace"]
    assert selectors.search("old").empty
    assert _names(selectors.search("new wo")) == ["New Works"]


def test_records_of_another_tenant_are_never_found(org_a, org_b):
    with org_b.activate():
        factories.ContactFactory(first_name="Zelda", last_name="Quint")
    with org_a.activate():
        assert selectors.search("zelda").empty


@pytest.mark.postgres
def test_bulk_inserts_get_their_terms_in_the_same_statement(tenant_a):
    Contact.objects.bulk_create(
        [
            Contact(tenant=tenant_a.tenant, first_name=f"Bulk{i}", last_name="Loaded")
            for i in range(30)
        ]
    )
    Organization.objects.bulk_create([Organization(tenant=tenant_a.tenant, name="Bulkhead Ltd")])

    assert SearchTerm.objects.filter(term="loaded", contact__isnull=False).count() == 30
    assert len(selectors.search("loaded", limit=50).contacts) == 30
    assert [o.name for o in selectors.search("bulkhead").organizations] == ["Bulkhead Ltd"]


@pytest.mark.postgres
def test_a_near_miss_of_one_word_is_found(tenant_a):
    factories.ContactFactory(first_name="Anna", last_name="Janssen", email="")
    factories.ContactFactory(first_name="Piet", last_name="Hansen", email="")

    assert _names(selectors.search("jansen")) == ["Anna Janssen"]


@pytest.mark.postgres
def test_an_erased_person_leaves_no_search_term(tenant_a):
    person = factories.ContactFactory(first_name="Greta", last_name="Garbo", email="greta@x.test")
    privacy.erase_contact(person, by=tenant_a.admin.user)

    terms = set(SearchTerm.objects.filter(contact=person).values_list("term", flat=True))
    assert terms and not terms & {"greta", "garbo", "greta@x.test", "x", "test"}
    assert selectors.search("garbo").empty


def test_search_runs_the_same_queries_for_few_and_many_records(
    tenant_a, django_assert_max_num_queries
):
    for i in range(40):
        factories.ContactFactory(first_name="Same", last_name=f"Name{i}")
    with django_assert_max_num_queries(4):
        assert len(selectors.search("same", limit=8).contacts) == 8


def test_contacts_by_email_match_in_any_case_and_only_live_ones(org_a, org_b):
    with org_b.activate():
        factories.ContactFactory(email="shared@example.test")
    with org_a.activate():
        mixed = factories.ContactFactory(first_name="Ada", email="ada@example.test")
        Contact.objects.filter(pk=mixed.pk).update(email="Ada@Example.TEST")  # as stored by hand
        factories.ContactFactory(email="shared@example.test")
        merged = factories.ContactFactory(email="merged@example.test")
        Contact.objects.filter(pk=merged.pk).update(merged_into=mixed)
        found = selectors.contacts_by_email(
            {"ada@example.test", "shared@example.test", "merged@example.test", "no@example.test"}
        )
        assert sorted(c.email for c in found) == ["Ada@Example.TEST", "shared@example.test"]
        assert all(c.tenant_id == org_a.tenant.pk for c in found)


# Issue 17, item 3: what European sales teams type.

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_accents_are_folded_in_the_query_and_in_the_records(tenant_a):
    factories.ContactFactory(first_name="Jürgen", last_name="Müller", email="j.mueller@x.test")
    factories.ContactFactory(first_name="Zoe", last_name="Muller", email="")
    factories.OrganizationFactory(name="Łódź Café Spółka", domain="")

    assert sorted(_names(selectors.search("muller"))) == ["Jürgen Müller", "Zoe Muller"]
    assert sorted(_names(selectors.search("MÜLL"))) == ["Jürgen Müller", "Zoe Muller"]
    assert _names(selectors.search("jurgen mul")) == ["Jürgen Müller"]
    assert _names(selectors.search("lodz cafe")) == ["Łódź Café Spółka"]
    assert _names(selectors.search("spolka")) == ["Łódź Café Spółka"]


def test_part_of_a_phone_number_finds_the_record(tenant_a):
    factories.ContactFactory(first_name="Ola", last_name="Nowak", phone="+48171234567")
    factories.ContactFactory(first_name="Piet", last_name="Jansen", phone="+31201234999")
    factories.OrganizationFactory(name="Berlin Works", phone="+4930987654")

    for typed in ["+48 171", "171 23", "(0171) 234-56", "4567", "0048 171 234", "ola 171"]:
        assert _names(selectors.search(typed)) == ["Ola Nowak"], typed
    assert _names(selectors.search("030 98765")) == ["Berlin Works"]
    assert selectors.search("555 66").empty


def test_word_start_matches_rank_before_matches_inside_words(org_a):
    with org_a.activate():
        aurora = factories.OrganizationFactory(name="Aurora Logistik GmbH", domain="aurora.test")
        for i in range(6):
            factories.ContactFactory(
                first_name="Laura", last_name=f"Kühn{i}", email=f"laura{i}@aurora.test"
            )
        factories.ContactFactory(first_name="Laura", last_name="Pausini", email="laura@p.test")
        factories.ContactFactory(first_name="Aurelio", last_name="Santos", email="as@x.test")

        results = selectors.search("aur")
        assert results.groups[0].key == "organizations"  # its name begins with the word
        assert [o.pk for o in results.organizations] == [aurora.pk]
        assert str(results.contacts[0]) == "Aurelio Santos"  # a name before an e-mail
        assert "Laura Pausini" not in _names(results)  # "aur" inside a word is no match

    content = org_a.client_for(org_a.rep).get(org_a.url("search/"), {"q": "aur"}, **HTMX)
    content = content.content.decode()
    assert content.index("Aurora Logistik") < content.index("Laura")


def test_no_match_text_names_every_kind_of_record(org_a):
    response = org_a.client_for(org_a.rep).get(org_a.url("search/"), {"q": "zzqx"}, **HTMX)
    content = response.content.decode()
    assert "No contact, organization or deal matches" in content
    assert "deal names" in content and "New deal" in content


def test_contacts_by_email_folds_like_the_search_terms(tenant_a):
    person = factories.ContactFactory(email="")
    Contact.objects.filter(pk=person.pk).update(email="müller@beispiel.test")
    assert [c.pk for c in selectors.contacts_by_email({"müller@beispiel.test"})] == [person.pk]


@pytest.mark.postgres
def test_the_database_folds_and_splits_exactly_as_python_does(tenant_a):
    from django.db import connection

    from contacts import search

    every = search.FOLD_FROM + search.FOLD_FROM.upper() + "".join(search.FOLD_MULTI)
    samples = [every, "Jean-Luc O'Brien", "j.schmidt@acme-industries.com", "Ærø_Ševčík–Ünal"]
    with connection.cursor() as cursor:
        for sample in samples:
            cursor.execute("SELECT contacts_fold(%s), contacts_words(%s)", [sample, sample])
            assert cursor.fetchone() == (search.fold(sample), search.words(sample)), sample
            cursor.execute(
                "SELECT array_agg(t) FROM contacts_terms(%s, %s, %s) AS t",
                ["+48 171 234 567", sample, "Müller"],
            )
            expected = search.record_terms("+48 171 234 567", sample, "Müller")
            assert set(cursor.fetchone()[0]) == expected, sample
