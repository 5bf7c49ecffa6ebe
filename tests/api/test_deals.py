"""Deals through the API: the same services, criteria, role rules and audit as the pages."""

from __future__ import annotations

import pytest

from crm.models import AuditEvent
from pipeline.models import Deal, Stage, StageTransition
from tests import factories


@pytest.fixture
def acme_org(org_a) -> int:
    with org_a.activate():
        return factories.OrganizationFactory(name="Initech", owner=org_a.rep.user).pk


def _create(client, org_id: int, **extra):
    return client.post(
        "/api/v1/deals", {"name": "Initech rollout", "organization": org_id, **extra}, format="json"
    )


def test_a_rep_opens_a_deal_in_the_first_stage_and_owns_it(org_a, api, sales_a, acme_org):
    response = _create(api(org_a, org_a.rep), acme_org, amount="12000.00")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["stage"] == sales_a["New lead"]
    assert body["owner"] == org_a.rep.user_id
    assert body["amount"] == "12000.00"
    assert body["status"] == "open"
    with org_a.activate():
        deal = Deal.objects.get(pk=body["id"])
        assert StageTransition.objects.filter(deal=deal, from_stage=None).count() == 1
        audit = AuditEvent.objects.get(verb="deal.created", target_id=deal.pk)
    assert audit.actor == org_a.rep.user


def test_a_refused_move_answers_422_with_every_unmet_criterion(org_a, api, sales_a, acme_org):
    client = api(org_a, org_a.rep)
    deal = _create(client, acme_org).json()
    response = client.post(
        f"/api/v1/deals/{deal['id']}/move", {"stage": sales_a["Qualified"]}, format="json"
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "stage_criteria_unmet"
    assert {u["code"] for u in body["unmet"]} == {
        "entry:field:budget",
        "entry:field:authority",
        "entry:field:need",
        "entry:field:timeline",
    }
    first = body["unmet"][0]
    assert set(first) >= {"code", "kind", "label", "when", "stage_id", "field", "overridable"}
    assert first["stage_id"] == sales_a["Qualified"]
    assert set(body["fields"]) == {"budget", "authority", "need", "timeline"}
    assert body["can_override"] is True
    with org_a.activate():
        assert Deal.objects.get(pk=deal["id"]).stage_id == sales_a["New lead"]
        assert not AuditEvent.objects.filter(verb="deal.moved").exists()


def test_a_move_with_the_required_fields_goes_through_and_is_audited(org_a, api, sales_a, acme_org):
    client = api(org_a, org_a.rep)
    deal = _create(client, acme_org).json()
    fields = {"budget": "50000", "authority": "CFO", "need": "Growth", "timeline": "June"}
    response = client.post(
        f"/api/v1/deals/{deal['id']}/move",
        {"stage": sales_a["Qualified"], "fields": fields},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["stage"] == sales_a["Qualified"]
    assert body["budget"] == "50000.00"
    assert body["version"] == deal["version"] + 1
    with org_a.activate():
        moved = AuditEvent.objects.get(verb="deal.moved", target_id=deal["id"])
        assert moved.actor == org_a.rep.user
        assert moved.changes["stage"] == [sales_a["New lead"], sales_a["Qualified"]]
        assert StageTransition.objects.filter(deal_id=deal["id"]).count() == 2


def test_a_lost_deal_needs_a_reason_which_cannot_be_overridden(org_a, api, sales_a, acme_org):
    client = api(org_a, org_a.manager)
    deal = _create(client, acme_org).json()
    url = f"/api/v1/deals/{deal['id']}/move"
    refused = client.post(
        url, {"stage": sales_a["Lost"], "override_reason": "just because"}, format="json"
    )
    assert refused.status_code == 422
    assert [u["code"] for u in refused.json()["unmet"]] == ["rule:lost_reason"]
    assert refused.json()["can_override"] is False
    reason = client.get("/api/v1/lost-reasons").json()["results"][0]["id"]
    lost = client.post(url, {"stage": sales_a["Lost"], "lost_reason": reason}, format="json")
    assert lost.status_code == 200
    assert lost.json()["status"] == "lost"
    assert lost.json()["lost_reason"] == reason


def test_only_managers_override_criteria(org_a, api, sales_a, acme_org):
    rep = api(org_a, org_a.rep)
    deal = _create(rep, acme_org).json()
    url = f"/api/v1/deals/{deal['id']}/move"
    payload = {"stage": sales_a["Qualified"], "override_reason": "Verbal yes from the CFO"}
    refused = rep.post(url, payload, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert api(org_a, org_a.manager).post(url, payload, format="json").status_code == 200


def test_a_rep_cannot_change_or_move_another_reps_deal(org_a, api, sales_a, acme_org):
    deal = _create(api(org_a, org_a.rep), acme_org).json()
    other = api(org_a, org_a.rep2)
    patch = other.patch(f"/api/v1/deals/{deal['id']}", {"name": "Mine now"}, format="json")
    assert patch.status_code == 403
    assert patch.json()["code"] == "not_owner"
    move = other.post(f"/api/v1/deals/{deal['id']}/move", {"stage": sales_a["Lost"]}, format="json")
    assert move.status_code == 403
    log = other.post(
        "/api/v1/activities", {"kind": "note", "subject": "Hi", "deal": deal["id"]}, format="json"
    )
    assert log.status_code == 403
    assert other.get(f"/api/v1/deals/{deal['id']}").status_code == 200  # reading is fine
    with org_a.activate():
        assert Deal.objects.get(pk=deal["id"]).name == "Initech rollout"
    manager = api(org_a, org_a.manager)
    assert (
        manager.patch(f"/api/v1/deals/{deal['id']}", {"name": "Renamed"}, format="json").status_code
        == 200
    )


def test_a_change_based_on_an_old_version_is_a_conflict(org_a, api, sales_a, acme_org):
    client = api(org_a, org_a.rep)
    deal = _create(client, acme_org).json()
    url = f"/api/v1/deals/{deal['id']}"
    assert (
        client.patch(url, {"name": "First", "version": deal["version"]}, format="json").status_code
        == 200
    )
    stale = client.patch(url, {"name": "Second", "version": deal["version"]}, format="json")
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"
    assert stale.json()["version"] == deal["version"] + 1


def test_an_activity_logged_on_the_deal_counts_for_its_criteria(org_a, api, sales_a, acme_org):
    client = api(org_a, org_a.rep)
    with org_a.activate():
        discovery = Stage.objects.get(pk=sales_a["Discovery"])
        deal = factories.DealFactory(
            stage=discovery, owner=org_a.rep.user, amount=1000, expected_close="2030-01-01"
        )
    url = f"/api/v1/deals/{deal.pk}/move"
    assert client.post(url, {"stage": sales_a["Proposal"]}, format="json").status_code == 422
    logged = client.post(
        "/api/v1/activities",
        {"kind": "meeting", "subject": "Demo", "deal": deal.pk, "outcome": "held"},
        format="json",
    )
    assert logged.status_code == 201, logged.json()
    assert logged.json()["deal"] == deal.pk
    assert client.post(url, {"stage": sales_a["Proposal"]}, format="json").status_code == 200


def test_custom_fields_are_merged_by_patch(org_a, api, sales_a, acme_org):
    client = api(org_a, org_a.rep)
    deal = _create(client, acme_org, custom_fields={"region": "north", "seats": 20}).json()
    url = f"/api/v1/deals/{deal['id']}"
    response = client.patch(
        url, {"custom_fields": {"seats": 25, "region": None, "tier": "gold"}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["custom_fields"] == {"seats": 25, "tier": "gold"}
    bad = client.patch(url, {"custom_fields": {"Bad Key": 1}}, format="json")
    assert bad.status_code == 422
    assert "custom_fields" in bad.json()["fields"]
