"""Another workspace's ids do not exist through the API: every endpoint of the published
schema, every method, answers 404 for them; lists never show them; and naming them in a
body is "does not exist", like an id that was never used."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests import factories

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
DETAIL_OPERATIONS = [
    (path, method)
    for path, operations in SCHEMA["paths"].items()
    if "{id}" in path
    for method in operations
]


def _objects(org, sales) -> dict[str, int]:
    """One object of each resource in `org`, by the resource's name in the URL."""
    from pipeline.models import Pipeline, Stage

    with org.activate():
        organization = factories.OrganizationFactory(owner=org.rep.user)
        contact = factories.ContactFactory(owner=org.rep.user, organization=organization)
        stage = Stage.objects.get(pk=sales["New lead"])
        return {
            "organizations": organization.pk,
            "contacts": contact.pk,
            "deals": factories.DealFactory(stage=stage, owner=org.rep.user).pk,
            "activities": factories.ActivityFactory(contact=contact, logged_by=org.rep.user).pk,
            "tasks": factories.TaskFactory(assignee=org.rep.user).pk,
            "pipelines": Pipeline.objects.get(kind="sales").pk,
            "stages": stage.pk,
            "members": org.rep.user_id,
        }


def test_the_schema_has_the_endpoints_this_test_walks():
    resources = {path.split("/")[3] for path, _ in DETAIL_OPERATIONS}
    assert resources >= {"organizations", "contacts", "deals", "activities", "tasks", "stages"}
    assert ("/api/v1/deals/{id}/move", "post") in DETAIL_OPERATIONS


@pytest.mark.parametrize(
    "path,method", DETAIL_OPERATIONS, ids=[f"{m} {p}" for p, m in DETAIL_OPERATIONS]
)
def test_another_workspaces_ids_are_404_on_every_endpoint(
    path, method, org_a, org_b, api, sales_a, sales_b
):
    ids_a = _objects(org_a, sales_a)
    resource = path.split("/")[3]
    assert resource in ids_a, f"add a builder for {resource!r} to _objects()"
    client = api(org_b, org_b.admin)  # the most powerful member of the other workspace
    url = path.replace("{id}", str(ids_a[resource]))
    # a body that B's own objects would accept (GET sends none: it would become filters)
    body = {"stage": sales_b["Qualified"], "name": "x", "first_name": "x", "title": "x"}
    if method == "get":
        body = None
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code == 404, f"{method.upper()} {url}: {response.status_code}"
    assert response.json()["code"] == "not_found"
    # the same request for B's own object is not a 404: the test would notice a broken URL
    ids_b = _objects(org_b, sales_b)
    own = getattr(client, method)(path.replace("{id}", str(ids_b[resource])), body, format="json")
    assert own.status_code != 404, f"{method.upper()} {path} with B's own id"


LISTS = [path for path, ops in SCHEMA["paths"].items() if "{" not in path and "get" in ops]


@pytest.mark.parametrize("path", LISTS)
def test_lists_show_only_the_callers_workspace(path, org_a, org_b, api, sales_a, sales_b):
    ids_a = _objects(org_a, sales_a)
    _objects(org_b, sales_b)
    response = api(org_b, org_b.admin).get(path)
    assert response.status_code == 200
    results = response.json()["results"]
    assert results, f"{path} listed nothing: seed it so the test means something"
    resource = path.split("/")[3]
    if resource in ids_a:
        assert ids_a[resource] not in {r["id"] for r in results}
    emails = re.findall(r"[\w.+-]+@acme\.test", response.content.decode())
    assert emails == []


def test_naming_another_workspaces_records_in_a_body_is_does_not_exist(
    org_a, org_b, api, sales_a, sales_b
):
    ids_a = _objects(org_a, sales_a)
    ids_b = _objects(org_b, sales_b)
    client = api(org_b, org_b.admin)
    cases = [
        (
            "/api/v1/contacts",
            {"first_name": "Ada", "organization": ids_a["organizations"]},
            "organization",
        ),
        ("/api/v1/contacts", {"first_name": "Ada", "owner": org_a.rep.user_id}, "owner"),
        ("/api/v1/deals", {"name": "D", "organization": ids_a["organizations"]}, "organization"),
        ("/api/v1/tasks", {"title": "T", "deal": ids_a["deals"]}, "deal"),
        (f"/api/v1/deals/{ids_b['deals']}/move", {"stage": ids_a["stages"]}, "stage"),
    ]
    for url, body, field in cases:
        response = client.post(url, body, format="json")
        assert response.status_code == 422, (url, response.json())
        assert field in response.json()["fields"], (url, response.json())
        assert "Acme" not in response.content.decode()


@pytest.mark.parametrize(
    "path,method", DETAIL_OPERATIONS, ids=[f"{m} {p}" for p, m in DETAIL_OPERATIONS]
)
def test_ids_that_are_no_record_are_404_not_errors(path, method, org_a, api):
    client = api(org_a, org_a.admin)
    for bad in ("0", "-1", "1.5", "abc", "9" * 19, "9" * 40):
        response = getattr(client, method)(path.replace("{id}", bad), format="json")
        assert response.status_code == 404, f"{method.upper()} {path} with {bad}"
