"""What every endpoint shares: the error shape, rate limits, idempotent retries."""

from __future__ import annotations

import uuid

from rest_framework.test import APIClient

from contacts.models import Contact
from tests.api.conftest import client_with, token_for


def _shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    return body


def test_errors_share_one_shape_with_field_level_messages(org_a, api):
    client = api(org_a, org_a.rep)
    invalid = _shape(
        client.post("/api/v1/contacts", {"first_name": "", "email": "not-an-email"}, format="json"),
        422,
        "invalid",
    )
    assert set(invalid["fields"]) == {"first_name", "email"}
    assert all(isinstance(m, str) for msgs in invalid["fields"].values() for m in msgs)
    _shape(client.get("/api/v1/contacts/999999"), 404, "not_found")
    _shape(client.get("/api/v1/no-such-thing"), 404, "not_found")
    _shape(client.get("/api/v1/contacts/abc"), 404, "not_found")
    _shape(client.get("/api/v1/contacts/99999999999999999999999"), 404, "not_found")
    malformed = client.generic("POST", "/api/v1/contacts", "{nope", content_type="application/json")
    _shape(malformed, 400, "malformed_request")
    form = client.post("/api/v1/contacts", {"first_name": "Ada"})  # multipart, not JSON
    _shape(form, 415, "unsupported_media_type")
    _shape(client.delete("/api/v1/contacts"), 405, "method_not_allowed")
    _shape(client.get("/api/v1/contacts?owner=abc"), 422, "invalid")


def test_service_refusals_come_back_beside_their_fields(org_a, api):
    client = api(org_a, org_a.rep)
    ada = {"first_name": "Ada", "last_name": "Lovelace"}
    client.post("/api/v1/contacts", {**ada, "email": "ada@x.test"}, format="json")
    taken = _shape(
        client.post(
            "/api/v1/contacts", {"first_name": "Other", "email": "ADA@x.test"}, format="json"
        ),
        422,
        "duplicate",
    )
    assert "email" in taken["fields"]
    assert taken["duplicates"][0]["type"] == "contact"
    maybe = _shape(client.post("/api/v1/contacts", ada, format="json"), 422, "possible_duplicate")
    assert "allow_duplicate" in maybe["message"]
    again = client.post("/api/v1/contacts", {**ada, "allow_duplicate": True}, format="json")
    assert again.status_code == 201
    linked = _shape(
        client.post("/api/v1/activities", {"kind": "call", "subject": "Hi"}, format="json"),
        422,
        "invalid",
    )
    assert linked["fields"] == {
        "non_field_errors": ["Link the activity to a contact or an organization."]
    }


def test_a_server_error_is_json_and_rolls_the_request_back(org_a, api, monkeypatch):
    from contacts import services

    def half_done(**kwargs):
        Contact.objects.create(first_name="Half", created_lifecycle="lead")
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "create_contact", half_done)
    client = api(org_a, org_a.rep)
    client.raise_request_exception = False
    _shape(
        client.post("/api/v1/contacts", {"first_name": "Ada"}, format="json"), 500, "server_error"
    )
    with org_a.activate():
        assert not Contact.objects.exists()


def test_each_token_has_its_own_rate_limit_with_retry_after(org_a, settings):
    settings.API_RATE_LIMIT = 3
    first = client_with(token_for(org_a, org_a.rep, name="One"))
    second = client_with(token_for(org_a, org_a.rep, name="Two"))
    assert [first.get("/api/v1/contacts").status_code for _ in range(3)] == [200, 200, 200]
    limited = first.get("/api/v1/contacts")
    body = _shape(limited, 429, "rate_limited")
    assert 1 <= int(limited["Retry-After"]) <= settings.API_RATE_PERIOD
    assert body["retry_after"] == int(limited["Retry-After"])
    assert second.get("/api/v1/contacts").status_code == 200


def test_a_retried_post_with_the_same_idempotency_key_creates_once(org_a, api):
    client = api(org_a, org_a.rep)
    key = str(uuid.uuid4())
    payload = {"first_name": "Ada", "email": "ada@example.test"}
    first = client.post("/api/v1/contacts", payload, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = client.post("/api/v1/contacts", payload, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    with org_a.activate():
        assert Contact.objects.count() == 1
    other = client.post(
        "/api/v1/contacts", {"first_name": "Bob"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    _shape(other, 422, "idempotency_key_reused")
    # keys are per member: another member's identical key is another request
    colleague = api(org_a, org_a.rep2)
    mine = colleague.post(
        "/api/v1/contacts", {"first_name": "Cy"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert mine.status_code == 201


def test_a_refused_request_does_not_burn_its_idempotency_key(org_a, api):
    client = api(org_a, org_a.rep)
    key = "retry-me"
    refused = client.post(
        "/api/v1/contacts", {"first_name": ""}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert refused.status_code == 422
    fixed = client.post(
        "/api/v1/contacts", {"first_name": "Ada"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed


def test_the_schema_and_docs_are_public_and_local(client):
    schema = client.get("/api/v1/schema?format=json")
    assert schema.status_code == 200
    assert "/api/v1/deals/{id}/move" in schema.json()["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<script>" not in html and "<style>" not in html  # nothing inline: CSP holds
    assert "https://" not in html  # no CDN
    script = client.get("/api/v1/docs?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_unknown_api_urls_need_no_credentials_to_be_refused_consistently():
    response = APIClient().get("/api/v1/contacts")
    assert response.status_code == 401
