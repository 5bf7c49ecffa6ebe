"""The mailbox page: connecting checks the login at once and says what failed; a real
Celery worker runs the sync that beat's scan and "Sync now" queue."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker

from crm.celery import app as celery_app
from crm.models import AuditEvent
from mail import secrets
from mail.models import EmailMessage, Mailbox
from mail.tasks import scan_mailboxes
from tests import factories
from tests.mail.helpers import mailbox_for
from tests.mail.servers import PASSWORD, free_port, message


def _form(dovecot, user, **extra):
    return {
        "email": "rep@acme.test", "imap_host": "127.0.0.1", "imap_port": dovecot.port,
        "imap_security": "none", "username": user, "password": PASSWORD,
        "smtp_port": 587, "smtp_security": "starttls", **extra,
    }  # fmt: skip


def test_connecting_checks_the_login_and_keeps_the_password_encrypted(org_a, dovecot):
    user = dovecot.new_user()
    client = org_a.client_for(org_a.rep)

    response = client.post(org_a.url("mail/mailbox/"), _form(dovecot, user))

    assert response.status_code == 302
    with org_a.activate():
        mailbox = Mailbox.objects.get(user=org_a.rep.user)
        assert mailbox.sent_folder == "Sent"
        assert PASSWORD not in mailbox.password_encrypted
        assert secrets.decrypt(mailbox.password_encrypted) == PASSWORD
        event = AuditEvent.objects.get(verb="mailbox.connected")
        assert PASSWORD not in str(event.changes)
    page = client.get(org_a.url("mail/mailbox/")).content.decode()
    assert "Connected" in page and "Sync now" in page


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"password": "wrong"}, "refused the user name or password"),
        ({"imap_host": "no-such-host.invalid"}, "was not found"),
        ({"imap_port": None}, "Could not connect to 127.0.0.1"),
    ],
)
def test_a_failed_login_says_why_and_keeps_what_was_typed(org_a, dovecot, change, expected):
    user = dovecot.new_user()
    data = _form(dovecot, user, **change)
    if "imap_port" in change:
        data["imap_port"] = free_port()
    response = org_a.client_for(org_a.rep).post(org_a.url("mail/mailbox/"), data)

    assert response.status_code == 422
    page = response.content.decode()
    assert expected in page and user in page
    with org_a.activate():
        assert not Mailbox.objects.exists()


def test_changing_the_password_checks_it_and_disconnecting_forgets_the_account(org_a, dovecot):
    with org_a.activate():
        mailbox, user = mailbox_for(org_a.rep, dovecot)
    client = org_a.client_for(org_a.rep)
    refused = client.post(org_a.url("mail/mailbox/"), _form(dovecot, user, password="nope"))
    assert refused.status_code == 422
    with org_a.activate():
        mailbox.refresh_from_db()
        assert secrets.decrypt(mailbox.password_encrypted) == PASSWORD
    client.post(org_a.url("mail/mailbox/disconnect/"))
    with org_a.activate():
        assert not Mailbox.objects.exists()
        assert AuditEvent.objects.filter(verb="mailbox.disconnected").exists()


def _wait_for(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _kept(org) -> list[str]:
    with org.activate():
        return list(EmailMessage.objects.values_list("message_id", flat=True))


@pytest.mark.redis
@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_a_real_worker_syncs_on_the_schedule_and_on_sync_now(org_a, dovecot):
    with org_a.activate():
        contact = factories.ContactFactory(email="ola@customer.test")
        mailbox, user = mailbox_for(org_a.rep, dovecot)
    dovecot.append(
        user, message(sender=contact.email, to=org_a.rep.user.email, message_id="w1@c.test")
    )
    with start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        assert scan_mailboxes() == 1
        assert _wait_for(lambda: _kept(org_a) == ["w1@c.test"])
        assert scan_mailboxes() == 0  # not due again until the interval has passed

        dovecot.append(
            user, message(sender=contact.email, to=org_a.rep.user.email, message_id="w2@c.test")
        )
        org_a.client_for(org_a.rep).post(org_a.url("mail/mailbox/sync/"))
        assert _wait_for(lambda: sorted(_kept(org_a)) == ["w1@c.test", "w2@c.test"])
    with org_a.activate():
        mailbox.refresh_from_db()
        assert (mailbox.messages_logged, mailbox.last_error, mailbox.sync_lease_until) == (
            2,
            "",
            None,
        )
