"""Personal API tokens: stored hashed, bound to a member and a workspace, scoped, revocable."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import create_api_token, revoke_api_token
from crm.models import AuditEvent
from tests.api.conftest import client_with, token_for


def test_a_token_is_stored_only_as_a_hash_and_names_its_workspace(org_a):
    raw = token_for(org_a, org_a.rep)
    with org_a.activate():
        token = ApiToken.objects.get()
        assert AuditEvent.objects.filter(verb="api_token.created", target_id=token.pk).exists()
    assert raw.startswith(f"keel_{org_a.tenant.pk}_{token.prefix}_")
    assert token.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.split("_")[-1] not in token.secret_hash
    assert token.user_id == org_a.rep.user_id and token.membership_id == org_a.rep.pk


def test_a_token_reads_its_own_workspace(org_a, org_b):
    response = client_with(token_for(org_a, org_a.rep)).get("/api/v1/members")
    assert response.status_code == 200
    emails = {m["email"] for m in response.json()["results"]}
    assert emails == {f"{r}@acme.test" for r in ("admin", "manager", "rep", "rep2")}


def test_no_credentials_is_401_in_the_error_shape():
    response = APIClient().get("/api/v1/contacts")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert set(body) == {"code", "message", "fields"}


def test_malformed_unknown_and_tampered_tokens_are_401(org_a):
    raw = token_for(org_a, org_a.rep)
    tampered = raw[:-1] + ("0" if raw[-1] != "0" else "1")
    other_tenant = raw.replace(f"keel_{org_a.tenant.pk}_", f"keel_{org_a.tenant.pk + 999}_", 1)
    for header in (
        "Bearer nonsense",
        f"Token {raw}",
        f"Bearer {tampered}",
        f"Bearer {other_tenant}",
        "Bearer keel_1_abcdef12_" + "0" * 40,
    ):
        response = APIClient().get("/api/v1/contacts", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response.json()["code"] == "invalid_token"


def test_a_revoked_token_stops_working(org_a):
    raw = token_for(org_a, org_a.rep)
    client = client_with(raw)
    assert client.get("/api/v1/contacts").status_code == 200
    with org_a.activate():
        revoke_api_token(ApiToken.objects.get(), by=org_a.rep.user)
    assert client.get("/api/v1/contacts").status_code == 401


def test_a_deactivated_member_s_token_stops_working(org_a):
    client = client_with(token_for(org_a, org_a.rep))
    with org_a.activate():
        org_a.rep.is_active = False
        org_a.rep.save(update_fields=["is_active"])
    assert client.get("/api/v1/contacts").status_code == 401


def test_a_read_only_token_reads_but_cannot_write(org_a):
    client = client_with(token_for(org_a, org_a.admin, scope="read"))
    assert client.get("/api/v1/contacts").status_code == 200
    response = client.post("/api/v1/contacts", {"first_name": "Ada"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_token"
    with org_a.activate():
        from contacts.models import Contact

        assert not Contact.objects.exists()


def test_the_role_is_the_member_s_current_one(org_a, api, sales_a):
    """Promoting a rep widens what their existing token may do, as it does in the UI."""
    from tests import factories

    with org_a.activate():
        deal = factories.DealFactory(owner=org_a.rep2.user)
    client = api(org_a, org_a.rep)
    assert client.patch(f"/api/v1/deals/{deal.pk}", {"name": "X"}, format="json").status_code == 403
    with org_a.activate():
        org_a.rep.role = "manager"
        org_a.rep.save(update_fields=["role"])
    assert client.patch(f"/api/v1/deals/{deal.pk}", {"name": "X"}, format="json").status_code == 200


def test_last_used_is_recorded_at_most_once_a_minute(org_a):
    client = client_with(token_for(org_a, org_a.rep))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get("/api/v1/contacts")
    with org_a.activate():
        assert ApiToken.objects.get().last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        client.get("/api/v1/contacts")
    with org_a.activate():
        assert ApiToken.objects.get().last_used_at == start
    later = start + timedelta(minutes=2)
    with time_machine.travel(later, tick=False):
        client.get("/api/v1/contacts")
    with org_a.activate():
        assert ApiToken.objects.get().last_used_at == later


def test_creating_a_token_refuses_a_blank_name_and_an_unknown_scope(org_a):
    import pytest
    from django.core.exceptions import ValidationError

    with org_a.activate():
        for name, scope in (("  ", "read"), ("Sync", "admin")):
            with pytest.raises(ValidationError):
                create_api_token(membership=org_a.rep, name=name, scope=scope, by=org_a.rep.user)


def test_the_session_works_same_origin_with_the_workspace_header(org_a, org_b):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(org_a.rep.user)
    assert client.get("/api/v1/contacts").status_code == 401  # which workspace?
    assert client.get("/api/v1/contacts", HTTP_X_KEEL_TENANT="acme").status_code == 200
    # a workspace the user is not a member of does not exist for them
    assert client.get("/api/v1/contacts", HTTP_X_KEEL_TENANT="globex").status_code == 404
    assert client.get("/api/v1/contacts", HTTP_X_KEEL_TENANT="nope").status_code == 404
    # writes need the CSRF token, like every form
    refused = client.post(
        "/api/v1/contacts", {"first_name": "Ada"}, format="json", HTTP_X_KEEL_TENANT="acme"
    )
    assert refused.status_code == 403
    client.get("/acme/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    created = client.post(
        "/api/v1/contacts",
        {"first_name": "Ada"},
        format="json",
        HTTP_X_KEEL_TENANT="acme",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert created.status_code == 201, created.json()
