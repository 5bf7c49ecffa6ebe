"""Global search finds deals by the beginnings of the words of their names (issue 17, item 3):
pipeline adds them to contacts' search through `register_search_provider`."""

from __future__ import annotations

import pytest

from contacts import selectors
from pipeline import services
from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}


def _deals(results) -> list[str]:
    return [d.name for d in results.group("deals").items]


def test_deals_are_found_by_the_beginning_of_any_word_without_accents(tenant_a, sales):
    org = factories.OrganizationFactory(name="Nordwind AG")
    factories.DealFactory(
        name="Flottenerneuerung Zürich 2026", stage=sales["New lead"], organization=org
    )
    factories.DealFactory(name="Website relaunch", stage=sales["New lead"])

    assert _deals(selectors.search("zurich")) == ["Flottenerneuerung Zürich 2026"]
    assert _deals(selectors.search("flott zür")) == ["Flottenerneuerung Zürich 2026"]
    assert _deals(selectors.search("launch")) == []  # inside a word: no match
    assert _deals(selectors.search("web")) == ["Website relaunch"]


def test_a_renamed_deal_is_found_by_its_new_name_only(tenant_a, sales):
    deal = factories.DealFactory(name="Old name", stage=sales["New lead"])
    services.update_deal(deal, by=tenant_a.admin.user, name="Fresh start")

    assert _deals(selectors.search("old")) == []
    assert _deals(selectors.search("fresh")) == ["Fresh start"]


def test_deals_of_another_tenant_are_never_found(org_a, org_b):
    with org_b.activate():
        factories.DealFactory(name="Secret merger")
    with org_a.activate():
        assert _deals(selectors.search("secret")) == []
        assert selectors.search("secret").empty


def test_the_dropdown_and_the_page_list_deals(org_a, sales):
    with org_a.activate():
        deal = factories.DealFactory(name="Aurora fleet", stage=sales["Qualified"])
    client = org_a.client_for(org_a.rep)
    dropdown = client.get(org_a.url("search/"), {"q": "fleet"}, **HTMX).content.decode()
    assert "Aurora fleet" in dropdown and f"/deals/{deal.pk}/" in dropdown
    page = client.get(org_a.url("search/"), {"q": "fleet"}).content.decode()
    assert "Aurora fleet" in page and "Qualified" in page and "No deal matches" not in page


def test_the_search_page_runs_the_same_queries_for_few_and_many_deals(
    org_a, sales, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = org_a.client_for(org_a.rep)
    with org_a.activate():
        factories.DealFactory(name="Same deal", stage=sales["New lead"])
    client.get(org_a.url("search/"), {"q": "same"})  # the member's once-a-day work
    with CaptureQueriesContext(connection) as few:
        client.get(org_a.url("search/"), {"q": "same"})
    with org_a.activate():
        for i in range(30):
            factories.DealFactory(name=f"Same deal {i}", stage=sales["New lead"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        content = client.get(org_a.url("search/"), {"q": "same"}).content.decode()
    assert content.count("Same deal") == 25 and len(few.captured_queries) <= 16


@pytest.mark.postgres
def test_bulk_inserted_deals_get_their_terms(tenant_a, sales):
    from pipeline.models import Deal, DealSearchTerm

    Deal.objects.bulk_create(
        [
            Deal(tenant=tenant_a.tenant, name=f"Bulk deal {i}", pipeline=sales.pipeline,
                 stage=sales["New lead"])
            for i in range(5)
        ]
    )  # fmt: skip
    assert DealSearchTerm.objects.filter(term="bulk").count() == 5
