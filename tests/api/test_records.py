"""Organizations, contacts, activities and tasks through the API, and how lists page."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from contacts.models import Task
from crm.models import AuditEvent
from tests import factories


def _all_pages(client, url: str) -> list[dict]:
    rows, seen_urls = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = response.json()
        rows += body["results"]
        url = body["next"]
        seen_urls += 1
        assert seen_urls < 50
    return rows


def test_cursor_pages_cover_every_row_once_even_when_rows_arrive_meanwhile(org_a, api):
    with org_a.activate():
        for i in range(7):
            factories.ContactFactory(last_name=f"P{i}")
    client = api(org_a, org_a.rep)
    first = client.get("/api/v1/contacts?page_size=3").json()
    assert len(first["results"]) == 3 and first["previous"] is None
    with org_a.activate():
        factories.ContactFactory(last_name="Newcomer")  # lands before the cursor (newest first)
    rest = _all_pages(client, first["next"])
    ids = [r["id"] for r in first["results"] + rest]
    assert len(ids) == len(set(ids)) == 7
    assert ids == sorted(ids, reverse=True)


def test_lists_filter_and_order(org_a, api):
    old = timezone.now() - timedelta(days=10)
    with org_a.activate():
        acme = factories.OrganizationFactory(name="Acme Corp")
        factories.ContactFactory(
            first_name="Zed", lifecycle="customer", organization=acme, updated_at=old
        )
        factories.ContactFactory(first_name="Amy", lifecycle="lead", email="amy@find.test")
        factories.ContactFactory(first_name="Bea", lifecycle="customer")
    client = api(org_a, org_a.rep)

    def names(query: str) -> list[str]:
        return [r["first_name"] for r in client.get(f"/api/v1/contacts?{query}").json()["results"]]

    assert sorted(names("lifecycle=customer")) == ["Bea", "Zed"]
    assert names(f"organization={acme.pk}") == ["Zed"]
    assert names("q=find.test") == ["Amy"]
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert sorted(names(f"updated_since={since}")) == ["Amy", "Bea"]
    far_offset = "2018-02-18T03:49:47+16:23"  # valid ISO 8601, beyond PostgreSQL's offsets
    assert sorted(names(f"updated_since={far_offset.replace('+', '%2B')}")) == ["Amy", "Bea", "Zed"]
    assert names("updated_since=9999-12-31T23:00:00-15:00") == []
    assert names("ordering=updated_at")[0] == "Zed"
    assert names("ordering=-updated_at")[-1] == "Zed"
    ordered = [
        r["last_name"] for r in client.get("/api/v1/contacts?ordering=last_name").json()["results"]
    ]
    assert ordered == sorted(ordered)


def test_contacts_are_created_and_changed_through_the_services(org_a, api):
    client = api(org_a, org_a.rep)
    created = client.post(
        "/api/v1/contacts",
        {
            "first_name": " Ada ",
            "email": "ADA@Example.TEST",
            "custom_fields": {"source_id": "crm-1"},
        },
        format="json",
    )
    assert created.status_code == 201
    contact = created.json()
    assert contact["first_name"] == "Ada" and contact["email"] == "ada@example.test"  # normalized
    assert contact["owner"] is None
    url = f"/api/v1/contacts/{contact['id']}"
    # a rep changes only what they own, as on the contact page
    assert client.patch(url, {"job_title": "CTO"}, format="json").status_code == 403
    assert (
        api(org_a, org_a.manager)
        .patch(url, {"owner": org_a.rep.user_id}, format="json")
        .status_code
        == 200
    )
    changed = client.patch(url, {"job_title": "CTO", "custom_fields": {"tier": "A"}}, format="json")
    assert changed.status_code == 200
    assert changed.json()["custom_fields"] == {"source_id": "crm-1", "tier": "A"}
    with org_a.activate():
        verbs = list(
            AuditEvent.objects.filter(target_id=contact["id"]).values_list("verb", "actor")
        )
    assert ("contact.created", org_a.rep.user_id) in verbs
    assert ("contact.updated", org_a.manager.user_id) in verbs
    assert ("contact.updated", org_a.rep.user_id) in verbs


def test_organizations_are_created_and_listed(org_a, api):
    client = api(org_a, org_a.rep)
    response = client.post(
        "/api/v1/organizations",
        {"name": "Initech", "website": "https://initech.example"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["domain"] == "initech.example"
    assert [o["name"] for o in client.get("/api/v1/organizations?q=init").json()["results"]] == [
        "Initech"
    ]


def test_a_domain_the_url_parser_cannot_read_is_refused_naming_the_field(org_a, api):
    client = api(org_a, org_a.rep)
    response = client.post(
        "/api/v1/organizations", {"name": "Initech", "domain": "init]ech.example"}, format="json"
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["domain"]


def test_tasks_are_planned_completed_and_reopened_by_their_assignee(org_a, api):
    client = api(org_a, org_a.rep)
    due = (timezone.now() + timedelta(days=1)).isoformat()
    task = client.post("/api/v1/tasks", {"title": "Call back", "due_at": due}, format="json").json()
    assert task["assignee"] == org_a.rep.user_id and task["status"] == "open"
    url = f"/api/v1/tasks/{task['id']}"
    other = api(org_a, org_a.rep2)
    assert other.post(f"{url}/complete").status_code == 403
    done = client.post(f"{url}/complete")
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert [t["id"] for t in client.get("/api/v1/tasks?status=done").json()["results"]] == [
        task["id"]
    ]
    assert client.post(f"{url}/reopen").json()["status"] == "open"
    with org_a.activate():
        assert Task.objects.get(pk=task["id"]).done_at is None
        assert AuditEvent.objects.filter(verb="task.completed", actor=org_a.rep.user).exists()


def test_an_activity_is_corrected_or_deleted_only_by_its_author_or_a_manager(org_a, api):
    with org_a.activate():
        contact = factories.ContactFactory()
    author = api(org_a, org_a.rep)
    activity = author.post(
        "/api/v1/activities",
        {"kind": "call", "subject": "Intro", "contact": contact.pk, "outcome": "connected"},
        format="json",
    ).json()
    url = f"/api/v1/activities/{activity['id']}"
    assert activity["logged_by"] == org_a.rep.user_id
    other = api(org_a, org_a.rep2)
    assert other.patch(url, {"subject": "Mine"}, format="json").status_code == 403
    assert other.delete(url).status_code == 403
    assert (
        author.patch(url, {"subject": "Intro call"}, format="json").json()["subject"]
        == "Intro call"
    )
    assert author.delete(url).status_code == 204
    assert author.get(url).status_code == 404
