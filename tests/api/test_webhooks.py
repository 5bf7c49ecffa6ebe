"""Outgoing webhooks, delivered to a real HTTP receiver this test starts on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.utils import timezone

from api import webhooks
from api.models import WebhookDelivery, WebhookEndpoint
from api.tasks import scan_webhooks
from api.webhooks import deliver_task
from crm.models import AuditEvent, Notification, OutboxEvent
from crm.outbox import EVENTS, publish
from tests import factories
from tests.api.conftest import stages_of


class Receiver:
    """A webhook receiver: records each request; answers the queued statuses, then 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": self.headers, "body": body, "path": self.path})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/keel"

    def payloads(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def other_receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _local_targets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the receiver listens on 127.0.0.1


def _endpoint(org, url: str, events=None) -> WebhookEndpoint:
    with org.activate():
        return webhooks.create_endpoint(by=org.admin.user, url=url, events=list(events or EVENTS))


@pytest.fixture
def run(django_capture_on_commit_callbacks, eager):
    """run(fn): call fn, commit, and let every queued task run (as worker and broker would)."""

    def go(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return go


def _verify(request: dict, secret: str) -> bool:
    """What a receiver does: recompute the signature over "<timestamp>.<body>"."""
    timestamp = request["headers"]["X-Keel-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", request["headers"]["X-Keel-Signature"])


def test_a_contact_created_through_the_api_is_delivered_signed(org_a, api, receiver, run):
    endpoint = _endpoint(org_a, receiver.url, ["contact.created"])
    client = api(org_a, org_a.rep)
    response = run(
        client.post,
        "/api/v1/contacts",
        {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.test"},
        format="json",
    )
    assert response.status_code == 201
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert _verify(request, endpoint.secret)
    assert not _verify(request, "whsec_wrong")
    headers = request["headers"]
    payload = json.loads(request["body"])
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Keel-Event"] == "contact.created"
    assert headers["X-Keel-Delivery"] == payload["id"]
    assert abs(int(headers["X-Keel-Timestamp"]) - timezone.now().timestamp()) < 60
    assert payload["type"] == "contact.created"
    assert payload["workspace"] == "acme"
    assert payload["data"]["object"]["id"] == response.json()["id"]
    assert payload["data"]["object"]["email"] == "ada@example.test"
    with org_a.activate():
        delivery = WebhookDelivery.objects.get()
        assert delivery.delivered_at is not None and delivery.last_status == 200
        assert OutboxEvent.objects.get().dispatched_at is not None


def test_each_change_of_the_integrator_s_journey_sends_its_event(org_a, api, receiver, run):
    """Create a contact and a deal, move it (refused, then through), win it: one signed
    event per change, none for the refused move."""
    endpoint = _endpoint(org_a, receiver.url)
    stages = stages_of(org_a)
    client = api(org_a, org_a.rep)
    contact = run(client.post, "/api/v1/contacts", {"first_name": "Grace"}, format="json").json()
    deal = run(
        client.post,
        "/api/v1/deals",
        {"name": "Navy", "primary_contact": contact["id"], "amount": "900"},
        format="json",
    ).json()
    move = f"/api/v1/deals/{deal['id']}/move"
    assert run(client.post, move, {"stage": stages["Qualified"]}, format="json").status_code == 422
    fields = {"budget": "900", "authority": "Admiral", "need": "Compilers", "timeline": "Q3"}
    assert (
        run(
            client.post, move, {"stage": stages["Qualified"], "fields": fields}, format="json"
        ).status_code
        == 200
    )
    assert run(client.post, move, {"stage": stages["Won"]}, format="json").status_code == 200
    types = [p["type"] for p in receiver.payloads()]
    assert types == [
        "contact.created",
        "deal.created",
        "deal.stage_changed",
        "deal.stage_changed",
        "deal.won",
    ]
    assert all(_verify(r, endpoint.secret) for r in receiver.requests)
    won = receiver.payloads()[-1]["data"]
    assert won["object"]["status"] == "won"
    assert won["to_stage"] == {"id": stages["Won"], "name": "Won"}
    assert len({p["id"] for p in receiver.payloads()}) == 5


def test_a_failed_delivery_is_retried_with_the_same_id_until_it_succeeds(
    org_a, receiver, run, monkeypatch
):
    _endpoint(org_a, receiver.url, ["task.completed"])
    receiver.statuses = [500, 503]
    retries = []
    monkeypatch.setattr(deliver_task, "retry", lambda **kw: retries.append(kw["countdown"]))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        with org_a.activate():
            task = factories.TaskFactory(assignee=org_a.rep.user)
        from contacts.services import complete_task

        def complete():
            with org_a.activate():
                complete_task(task, by=org_a.rep.user)

        run(complete)
    assert len(receiver.requests) == 1
    assert retries == [10]  # Celery retries after 10 s
    with org_a.activate():
        delivery = WebhookDelivery.objects.get()
        assert delivery.last_status == 500 and delivery.attempts == 1
        assert delivery.next_attempt_at == start + timedelta(seconds=10)
    # the retry comes back too early (a duplicate message): nothing is sent
    run(deliver_task.delay, delivery.pk, tenant_id=org_a.tenant.pk)
    assert len(receiver.requests) == 1
    with time_machine.travel(start + timedelta(seconds=11), tick=False):
        run(deliver_task.delay, delivery.pk, tenant_id=org_a.tenant.pk)  # the Celery retry
    assert retries == [10, 60]
    with time_machine.travel(start + timedelta(seconds=72), tick=False):
        run(deliver_task.delay, delivery.pk, tenant_id=org_a.tenant.pk)
    ids = {r["headers"]["X-Keel-Delivery"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1
    with org_a.activate():
        delivery.refresh_from_db()
        assert delivery.delivered_at is not None
        assert [a["status"] for a in delivery.history] == [500, 503, 200]
        assert WebhookEndpoint.objects.get().failure_count == 0


def test_long_pauses_are_left_to_beat_not_to_celery_countdowns(org_a, receiver, run, monkeypatch):
    _endpoint(org_a, receiver.url)
    receiver.statuses = [500] * 10
    retries = []
    monkeypatch.setattr(deliver_task, "retry", lambda **kw: retries.append(kw["countdown"]))
    with org_a.activate():  # an event dispatched, its delivery's message lost
        publish("contact.created", target=factories.ContactFactory())
        webhooks.dispatch_events()
        delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    for _ in range(4):
        with time_machine.travel(now, tick=False):
            run(deliver_task.delay, delivery.pk, tenant_id=org_a.tenant.pk)
        with org_a.activate():
            now = WebhookDelivery.objects.get().next_attempt_at
    assert retries == [10, 60, 300]  # the fourth pause (30 min) is beat's
    assert now - timezone.now() > timedelta(minutes=29)


def test_an_endpoint_failing_again_and_again_is_disabled_and_admins_are_told(
    org_a, api, receiver, run, settings
):
    settings.WEBHOOK_DISABLE_AFTER = 3
    _endpoint(org_a, receiver.url, ["contact.created"])
    receiver.statuses = [500] * 10
    client = api(org_a, org_a.rep)
    for name in ("Ann", "Bob", "Cid"):
        run(client.post, "/api/v1/contacts", {"first_name": name}, format="json")
    assert len(receiver.requests) == 3
    with org_a.activate():
        endpoint = WebhookEndpoint.objects.get()
        assert not endpoint.is_active and endpoint.disabled_at is not None
        assert "3 deliveries in a row failed" in endpoint.disabled_reason
        notices = Notification.objects.filter(kind="system")
        assert {n.recipient for n in notices} == {org_a.admin.user}
        assert notices.get().url.endswith(f"/settings/webhooks/{endpoint.pk}/")
        assert not WebhookDelivery.objects.filter(delivered_at=None, failed_at=None).exists()
        assert AuditEvent.objects.filter(verb="webhook.disabled", actor=None).exists()
    run(client.post, "/api/v1/contacts", {"first_name": "Dee"}, format="json")
    assert len(receiver.requests) == 3  # a disabled endpoint gets nothing
    with org_a.activate():
        webhooks.enable_endpoint(WebhookEndpoint.objects.get(), by=org_a.admin.user)
    run(client.post, "/api/v1/contacts", {"first_name": "Eve"}, format="json")
    assert len(receiver.requests) == 4


def test_events_are_never_sent_for_another_workspace(
    org_a, org_b, api, receiver, other_receiver, run
):
    _endpoint(org_a, receiver.url)
    _endpoint(org_b, other_receiver.url)
    run(api(org_a, org_a.rep).post, "/api/v1/contacts", {"first_name": "Ada"}, format="json")
    run(api(org_b, org_b.rep).post, "/api/v1/contacts", {"first_name": "Bea"}, format="json")
    assert [p["data"]["object"]["first_name"] for p in receiver.payloads()] == ["Ada"]
    assert [p["data"]["object"]["first_name"] for p in other_receiver.payloads()] == ["Bea"]
    assert {p["workspace"] for p in other_receiver.payloads()} == {"globex"}
    # B's dispatcher does not see A's events, even undispatched ones
    with org_a.activate():
        publish("contact.created", target=factories.ContactFactory())
    with org_b.activate():
        assert webhooks.dispatch_events() == 0
    with org_a.activate():
        assert OutboxEvent.objects.filter(dispatched_at=None).count() == 1


def test_an_event_nobody_subscribed_to_is_not_sent(org_a, api, receiver, run):
    _endpoint(org_a, receiver.url, ["deal.won"])
    run(api(org_a, org_a.rep).post, "/api/v1/contacts", {"first_name": "Ada"}, format="json")
    assert receiver.requests == []
    with org_a.activate():
        assert not WebhookDelivery.objects.exists()
        assert OutboxEvent.objects.get().dispatched_at is not None


def test_send_test_pings_the_endpoint_and_logs_the_answer(org_a, receiver, run):
    endpoint = _endpoint(org_a, receiver.url, ["deal.won"])
    client = org_a.client_for(org_a.admin)
    url = f"/acme/settings/webhooks/{endpoint.pk}/test/"
    response = run(client.post, url)
    assert response.status_code == 302
    assert [p["type"] for p in receiver.payloads()] == ["ping"]
    assert _verify(receiver.requests[0], endpoint.secret)
    page = client.get(f"/acme/settings/webhooks/{endpoint.pk}/")
    assert b"Delivered" in page.content and b"ping" in page.content
    # a test that fails is one attempt, and does not count towards disabling the endpoint
    receiver.statuses = [500]
    run(client.post, url)
    with org_a.activate():
        failed = WebhookDelivery.objects.filter(event="ping").order_by("-id").first()
        assert failed.failed_at is not None and failed.attempts == 1
        assert WebhookEndpoint.objects.get().failure_count == 0


@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_beat_dispatches_events_a_crashed_process_left_and_requeues_due_deliveries(
    org_a, org_b, receiver, eager, settings
):
    """Nothing ran after the commits (as if the web process died): beat's scan finds the
    pending event and the due delivery, across tenants, and they go out."""
    settings.KEEL_EVENT_HANDLERS = []  # nothing hears of the commits
    _endpoint(org_a, receiver.url, ["contact.created", "task.completed"])
    long_ago = timezone.now() - timedelta(minutes=5)
    with time_machine.travel(long_ago, tick=False), org_a.activate():
        publish("contact.created", target=factories.ContactFactory(first_name="Lost"))
    assert receiver.requests == []  # the handler's task was never queued (no broker here)
    scan_webhooks()
    assert [p["data"]["object"]["first_name"] for p in receiver.payloads()] == ["Lost"]
    # a delivery whose retry message was lost is found when it is due
    receiver.statuses = [500]
    with time_machine.travel(long_ago, tick=False), org_a.activate():
        publish("task.completed", target=factories.TaskFactory(assignee=org_a.rep.user))
    scan_webhooks()
    assert len(receiver.requests) == 2
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        scan_webhooks()
    assert len(receiver.requests) == 3
    with org_a.activate():
        assert WebhookDelivery.objects.filter(delivered_at__isnull=False).count() == 2


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_through_the_broker(org_a, api, receiver):
    """No eager shortcut: the commit queues the dispatch on Redis, a worker runs it and
    then the delivery, under the tenant."""
    from celery.contrib.testing.worker import start_worker

    from crm.celery import app as celery_app

    _endpoint(org_a, receiver.url, ["contact.created"])
    with start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        created = api(org_a, org_a.rep).post(
            "/api/v1/contacts", {"first_name": "Ada"}, format="json"
        )
        assert created.status_code == 201
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not receiver.requests:
            time.sleep(0.2)
    assert [p["type"] for p in receiver.payloads()] == ["contact.created"]
    assert receiver.payloads()[0]["data"]["object"]["id"] == created.json()["id"]
