"""How the cross-tenant walker builds each integrations URL that takes arguments."""

from __future__ import annotations

from api import tokens, webhooks


def _token(org) -> dict:
    with org.activate():
        token, _ = tokens.create_api_token(
            membership=org.admin, name="Walker", scope="read", by=org.admin.user
        )
    return {"pk": token.pk}


def _endpoint(org) -> dict:
    with org.activate():
        endpoint = webhooks.WebhookEndpoint.objects.create(
            url="https://hooks.example.test/keel", events=["deal.won"], secret=webhooks.new_secret()
        )
    return {"pk": endpoint.pk}


def _delivery(org) -> dict:
    with org.activate():
        endpoint = webhooks.WebhookEndpoint.objects.create(
            url="https://hooks.example.test/keel", events=["deal.won"], secret=webhooks.new_secret()
        )
        delivery = webhooks.WebhookDelivery.objects.create(
            endpoint=endpoint, event="ping", event_id="evt_walker", is_test=True
        )
    return {"pk": delivery.pk}


URL_ARGS = {
    "integrations:token-revoke": _token,
    **{
        f"integrations:webhook-{page}": _endpoint
        for page in ("detail", "test", "enable", "disable", "rotate", "delete")
    },
    "integrations:delivery-redeliver": _delivery,
}
