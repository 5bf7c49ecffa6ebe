"""The pages: who may see what, what they show, and that they run a bounded number of
queries whatever the number of accounts."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Task
from intelligence import services
from intelligence.models import AccountPotential, ChurnState, IntelligenceSettings
from tests.intelligence.conftest import Accounts, at

NOW = at(2026, 6, 15, 10)
TODAY = date(2026, 6, 15)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _now(clock):
    clock(NOW)


def _portfolio(org, n: int, *, prefix: str = "Account") -> None:
    """n customers with won revenue, pipeline and a churn episode each."""
    with org.activate():
        accounts = Accounts.of(org)
        for i in range(n):
            company = accounts.customer(f"{prefix} {i}")
            accounts.won(company, closed=NOW - 30 * DAY, amount=1000 + 100 * i)
            accounts.open_deal(
                company, stage=accounts.sales["Proposal"], entered=NOW - DAY, amount=500 * i
            )
            accounts.task(company, due=NOW - 5 * DAY, created=NOW - 9 * DAY)
            services.set_potential(company, by=org.manager.user, estimate=Decimal(10 * i))
        services.score_customers()


def _queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["accounts/", "accounts/at-risk/", "accounts/retention/"])
def test_the_manager_pages_run_the_same_queries_for_few_and_many_accounts(
    org_a, org_b, page, django_assert_max_num_queries
):
    with org_a.activate():
        services.update_settings(by=org_a.admin.user, churn_threshold=100)  # all at risk
    _portfolio(org_b, 3)
    _portfolio(org_a, 3)
    client = org_a.client_for(org_a.manager)
    few = _queries(client, org_a.url(page))
    _portfolio(org_a, 40, prefix="More")
    with django_assert_max_num_queries(few):
        response = client.get(org_a.url(page))
    assert response.status_code == 200
    if page == "accounts/at-risk/":
        assert response.content.count(b"/organizations/") >= 43
    assert few <= 40


@pytest.mark.parametrize("page", ["accounts/", "accounts/at-risk/", "accounts/retention/"])
def test_reps_may_not_see_the_manager_pages(org_a, page):
    assert org_a.client_for(org_a.rep).get(org_a.url(page)).status_code == 403
    assert org_a.client_for(org_a.manager).get(org_a.url(page)).status_code == 200


def test_the_settings_page_is_for_admins(org_a):
    assert org_a.client_for(org_a.manager).get(org_a.url("settings/accounts/")).status_code == 403
    client = org_a.client_for(org_a.admin)
    assert client.get(org_a.url("settings/accounts/")).status_code == 200
    data = {
        "weight_recency": 40,
        "weight_trend": 20,
        "weight_overdue_tasks": 10,
        "weight_stale_deals": 10,
        "weight_renewal": 10,
        "weight_lost_deals": 10,
        "churn_threshold": 45,
        "churn_drop": 15,
        "current_threshold": "",
        "potential_threshold": "25000",
        "potential_source": "managers",
    }
    response = client.post(org_a.url("settings/accounts/"), data)
    assert response.status_code == 302
    with org_a.activate():
        saved = IntelligenceSettings.objects.get()
        assert (saved.weight_recency, saved.churn_threshold, saved.current_threshold) == (
            40,
            45,
            None,
        )
        assert saved.potential_threshold == Decimal(25000)
    refused = client.post(org_a.url("settings/accounts/"), data | {"churn_threshold": 0})
    assert refused.status_code == 422
    zero = dict.fromkeys([k for k in data if k.startswith("weight_")], 0)
    assert client.post(org_a.url("settings/accounts/"), data | zero).status_code == 422


def test_the_matrix_charts_every_account_with_a_link(org_a, org_b):
    _portfolio(org_a, 4)
    _portfolio(org_b, 2, prefix="Globex account")
    response = org_a.client_for(org_a.manager).get(org_a.url("accounts/"))
    html = response.content.decode()
    data = json.loads(re.search(r'id="matrix-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert sorted(p["label"] for p in data["points"]) == [f"Account {i}" for i in range(4)]
    with org_a.activate():
        ids = {p["label"]: p["url"] for p in data["points"]}
        from contacts.models import Organization

        first = Organization.objects.get(name="Account 0")
    assert ids["Account 0"] == f"/acme/organizations/{first.pk}/"
    assert f'href="/acme/organizations/{first.pk}/"' in html  # the table beside the chart
    assert "Globex" not in html
    assert 'src="/static/js/intelligence.js"' in html
    assert "<script>" not in html  # CSP: no inline script


def test_the_at_risk_list_is_sorted_by_revenue_at_risk_and_names_the_follow_up(org_a):
    with org_a.activate():
        services.update_settings(by=org_a.admin.user, churn_threshold=100)
    _portfolio(org_a, 3)
    html = org_a.client_for(org_a.manager).get(org_a.url("accounts/at-risk/")).content.decode()
    order = [m for m in re.findall(r">(Account \d)</a>", html)]
    assert order == ["Account 2", "Account 1", "Account 0"]  # 1 200, 1 100, 1 000
    assert "1 overdue task: −5" in html
    assert "Rep Acme" in html  # the owner, and the follow-up task is theirs


def test_the_organization_page_shows_quadrant_score_and_reasons_to_its_owner(org_a):
    _portfolio(org_a, 3)
    with org_a.activate():
        from contacts.models import Organization

        company = Organization.objects.get(name="Account 2")
        other = Accounts.of(org_a).customer("Someone else's", owner=org_a.rep2.user)
    url = org_a.url(f"organizations/{company.pk}/")
    html = org_a.client_for(org_a.rep).get(url).content.decode()
    assert "Account health" in html
    assert "Invest" in html  # highest current and potential of the three
    assert "1 overdue task: −5" in html
    assert "health-spark" not in html  # one day of history: no line yet
    # A rep sees nothing of it on an organization they do not own; a manager does.
    other_html = org_a.client_for(org_a.rep).get(org_a.url(f"organizations/{other.pk}/"))
    assert b"Account health" not in other_html.content
    manager_html = org_a.client_for(org_a.manager).get(url).content.decode()
    assert "Account health" in manager_html
    assert "Set the potential estimate" not in manager_html  # one is set: "Change"
    assert "Change the potential estimate" in manager_html


def test_the_trend_line_appears_with_history(org_a, clock):
    _portfolio(org_a, 1)
    clock(NOW + DAY)
    with org_a.activate():
        services.score_customers()
        from contacts.models import Organization

        company = Organization.objects.get(name="Account 0")
    html = org_a.client_for(org_a.manager).get(org_a.url(f"organizations/{company.pk}/"))
    assert b'class="health-spark"' in html.content
    assert b"unchanged since 15 Jun" in html.content


def test_the_owner_sets_the_potential_when_allowed(org_a):
    with org_a.activate():
        company = Accounts.of(org_a).customer("Alpha", owner=org_a.rep.user)
    url = org_a.url(f"accounts/{company.pk}/potential/")
    assert org_a.client_for(org_a.rep).post(url, {"estimate": "5000"}).status_code == 302
    assert org_a.client_for(org_a.rep2).post(url, {"estimate": "9"}).status_code == 403
    assert org_a.client_for(org_a.rep).get(url).status_code == 405
    with org_a.activate():
        assert AccountPotential.objects.get(organization=company).estimate == Decimal(5000)
        services.update_settings(by=org_a.admin.user, potential_source="managers")
    assert org_a.client_for(org_a.rep).post(url, {"estimate": "1"}).status_code == 403
    assert org_a.client_for(org_a.manager).post(url, {"estimate": ""}).status_code == 302
    with org_a.activate():
        assert not AccountPotential.objects.exists()


def test_the_organization_list_filters_by_quadrant(org_a, org_b):
    _portfolio(org_a, 4)
    _portfolio(org_b, 4)
    client = org_a.client_for(org_a.manager)
    html = client.get(org_a.url("organizations/?quadrant=invest")).content.decode()
    names = set(re.findall(r">(Account \d)</a>", html))
    assert names == {"Account 2", "Account 3"}  # at or above both medians
    serve = client.get(org_a.url("organizations/?quadrant=serve")).content.decode()
    assert set(re.findall(r">(Account \d)</a>", serve)) == {"Account 0", "Account 1"}
    everything = client.get(org_a.url("organizations/")).content.decode()
    assert 'name="quadrant"' in everything  # in the filter bar
    assert client.get(org_a.url("organizations/?quadrant=nonsense")).status_code == 200


def test_another_tenants_manager_sees_none_of_it(org_a, org_b):
    _portfolio(org_a, 2)
    with org_a.activate():
        services.update_settings(by=org_a.admin.user, churn_threshold=100)
        services.score_customers(day=TODAY + DAY)
        company = ChurnState.objects.get(organization__name="Account 0").organization
    client = org_b.client_for(org_b.manager)
    assert client.get(org_a.url("accounts/")).status_code == 404
    assert client.get(org_b.url(f"organizations/{company.pk}/")).status_code == 404
    assert (
        client.post(org_b.url(f"accounts/{company.pk}/potential/"), {"estimate": 1}).status_code
        == 404
    )
    assert b"Account 0" not in client.get(org_b.url("accounts/at-risk/")).content
    with org_b.activate():
        assert not Task.objects.filter(source="automation").exists()


def test_a_customer_who_left_leaves_the_at_risk_list(org_a):
    with org_a.activate():
        services.update_settings(by=org_a.admin.user, churn_threshold=100)
    _portfolio(org_a, 2)
    with org_a.activate():
        from contacts.models import Organization

        Organization.objects.filter(name="Account 1").update(lifecycle="former_customer")
    html = org_a.client_for(org_a.manager).get(org_a.url("accounts/at-risk/")).content.decode()
    assert re.findall(r">(Account \d)</a>", html) == ["Account 0"]
