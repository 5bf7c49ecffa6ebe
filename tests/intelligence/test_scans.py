"""Beat's daily scan: one query over all tenants finds those with a customer not scored for
its local today; each such tenant's task scores its own customers, once."""

from __future__ import annotations

import pytest

from crm.models import Tenant
from intelligence.models import HealthScore
from intelligence.tasks import scan_health_scores, score_customers
from tests import factories
from tests.intelligence.conftest import at

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "scanner"])


def _customers(org, n: int) -> None:
    with org.activate():
        for i in range(n):
            factories.OrganizationFactory(name=f"{org.tenant.name} {i}", lifecycle="customer")


def _scores(org) -> list[tuple[str, object]]:
    with org.activate():
        return sorted(HealthScore.objects.values_list("organization__name", "day"))


def test_the_scan_queues_each_tenant_with_unscored_customers_once_a_local_day(
    org_a, org_b, other_tenant, clock, eager, monkeypatch
):
    other = other_tenant.tenant.pk  # a customer of its own, in Berlin too
    queued = []
    original = score_customers.delay
    monkeypatch.setattr(score_customers, "delay", lambda **kw: queued.append(kw) or original(**kw))
    Tenant.objects.filter(pk=org_b.tenant.pk).update(time_zone="America/New_York")
    _customers(org_a, 2)
    _customers(org_b, 1)
    with org_a.activate():
        factories.OrganizationFactory(name="Acme prospect")  # no score for prospects
    # 06:30 in Berlin is 00:30 in New York: a new day in both.
    clock(at(2026, 6, 15, 6, 30))
    assert scan_health_scores() == 3
    assert sorted(q["tenant_id"] for q in queued) == sorted(
        [org_a.tenant.pk, org_b.tenant.pk, other]
    )
    assert [day.isoformat() for _, day in _scores(org_a)] == ["2026-06-15", "2026-06-15"]
    assert [name for name, _ in _scores(org_b)] == ["Globex 0"]
    assert scan_health_scores() == 0  # nothing due until the next local day
    # 23:30 in Berlin on the 15th is 17:30 in New York: still the same day in both.
    clock(at(2026, 6, 15, 23, 30))
    assert scan_health_scores() == 0
    # 00:30 on the 16th in Berlin is the 15th in New York: only the Berlin tenants are due.
    queued.clear()
    clock(at(2026, 6, 16, 0, 30))
    assert scan_health_scores() == 2
    assert sorted(q["tenant_id"] for q in queued) == sorted([org_a.tenant.pk, other])


def test_a_new_customer_is_scored_the_same_day(org_a, clock, eager):
    _customers(org_a, 1)
    clock(at(2026, 6, 15, 6, 30))
    assert scan_health_scores() == 2  # Acme and the other tenant of every test
    _customers(org_a, 1)  # became a customer during the day
    assert scan_health_scores() == 1
    assert len(_scores(org_a)) == 2
