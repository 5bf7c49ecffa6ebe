"""The integration pages: API tokens (every member, their own), webhooks (admins)."""

from __future__ import annotations

import hashlib

from api.models import ApiToken, WebhookEndpoint

TOKENS = "/acme/settings/api-tokens/"
WEBHOOKS = "/acme/settings/webhooks/"


def test_a_member_creates_a_token_and_sees_its_secret_once(org_a):
    client = org_a.client_for(org_a.rep)
    response = client.post(TOKENS, {"name": "Billing sync", "scope": "write"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    with org_a.activate():
        token = ApiToken.objects.get()
    secret = html.split('id="token-secret" type="text" value="')[1].split('"')[0]
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.scope == "write" and token.user == org_a.rep.user
    again = client.get(TOKENS).content.decode()
    assert secret not in again
    assert "Billing sync" in again and f"keel_{org_a.tenant.pk}_{token.prefix}" in again
    assert "Never" in again  # last used


def test_members_revoke_their_own_tokens_and_admins_anyone_s(org_a):
    rep = org_a.client_for(org_a.rep)
    rep.post(TOKENS, {"name": "Mine", "scope": "read"})
    with org_a.activate():
        token = ApiToken.objects.get()
    url = f"{TOKENS}{token.pk}/revoke/"
    assert org_a.client_for(org_a.rep2).post(url).status_code == 404
    assert org_a.client_for(org_a.manager).post(url).status_code == 404
    admin = org_a.client_for(org_a.admin)
    assert "Mine" in admin.get(TOKENS).content.decode()  # admins see every token
    assert rep.get(url).status_code == 405
    assert rep.post(url).status_code == 302
    with org_a.activate():
        assert ApiToken.objects.get().revoked_at is not None


def test_webhooks_are_for_admins(org_a):
    for member in (org_a.rep, org_a.manager):
        assert org_a.client_for(member).get(WEBHOOKS).status_code == 403
    admin = org_a.client_for(org_a.admin)
    assert admin.get(WEBHOOKS).status_code == 200
    nav = admin.get(TOKENS).content.decode()
    assert WEBHOOKS in nav and TOKENS in nav
    manager_nav = org_a.client_for(org_a.manager).get(TOKENS).content.decode()
    assert WEBHOOKS not in manager_nav and TOKENS in manager_nav


def test_an_admin_adds_an_endpoint_and_sees_its_secret(org_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    admin = org_a.client_for(org_a.admin)
    response = admin.post(
        WEBHOOKS, {"url": "http://127.0.0.1:9/hook", "events": ["deal.won", "deal.lost"]}
    )
    assert response.status_code == 302
    with org_a.activate():
        endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["deal.lost", "deal.won"]
    detail = admin.get(response["Location"])
    assert endpoint.secret in detail.content.decode()
    assert detail["Cache-Control"] == "no-store"


def test_private_and_odd_targets_are_refused_by_default(org_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    admin = org_a.client_for(org_a.admin)
    for url in ("http://127.0.0.1:8000/x", "http://10.1.2.3/x", "ftp://example.com/x"):
        response = admin.post(WEBHOOKS, {"url": url, "events": ["deal.won"]})
        assert response.status_code == 422, url
    with org_a.activate():
        assert not WebhookEndpoint.objects.exists()
