"""The SMTP gateway in a real SMTP conversation: aiosmtpd on a loopback port, smtplib as a
member's mail server. The gateway's handler runs in its own thread with its own database
connection, so these tests commit what they set up (transactional tests) and read what the
gateway stored afterwards."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
from contextlib import contextmanager
from email import policy

import pytest
from django.conf import settings as django_settings

from crm.models import Tenant
from mail import gateway
from mail.models import EmailMessage
from mail.services import inbound
from mail.services.inbound import inbound_address, rotate_inbound_address
from tests import factories
from tests.mail import forward_samples as samples
from tests.mail.servers import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@contextmanager
def running_gateway():
    server = gateway.controller(host="127.0.0.1", port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp():
    with running_gateway() as server, smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        yield client


@pytest.fixture
def acme(org_a):
    """Anna, a contact of Acme, and Acme's address, committed for the gateway's thread."""
    with org_a.activate():
        org = factories.OrganizationFactory(name="Müller GmbH")
        factories.ContactFactory(first_name="Anna", email=samples.ANNA, organization=org)
        org_a.address = str(inbound_address(org_a.tenant))
    return org_a


def _kept(org) -> list[EmailMessage]:
    with org.activate():
        return list(EmailMessage.objects.select_related("activity__contact").order_by("pk"))


def _send(smtp: smtplib.SMTP, to: str, msg, *, envelope_from: str | None = None) -> dict:
    sender = envelope_from or msg["From"].addresses[0].addr_spec
    return smtp.sendmail(sender, [to], _wire(msg))


def _wire(msg) -> bytes:
    return msg.as_bytes(policy=policy.SMTP)  # lines end in CRLF, as on the wire


def test_a_bcc_from_a_member_is_logged_as_an_outgoing_email(acme, smtp):
    msg = samples.mail(
        sender=acme.rep.user.email, to=f"Anna <{samples.ANNA}>", message_id="bcc@acme.test"
    )

    assert _send(smtp, acme.address, msg) == {}  # no recipient refused

    [kept] = _kept(acme)
    assert (kept.message_id, kept.direction, kept.source, kept.owner_id) == (
        "bcc@acme.test",
        "out",
        "forward",
        acme.rep.user.pk,
    )
    assert kept.activity.contact.email == samples.ANNA and not kept.activity.inbound


def test_a_forward_as_attachment_is_logged_from_the_original_sender(acme, smtp):
    _send(smtp, acme.address, samples.attached_forward(member=acme.rep.user.email, to=acme.address))

    [kept] = _kept(acme)
    assert (kept.message_id, kept.from_address, kept.direction) == (
        "original-1@mueller.test",
        samples.ANNA,
        "in",
    )
    assert kept.activity.contact.email == samples.ANNA and kept.activity.inbound


@pytest.mark.parametrize("fmt", ["gmail", "outlook", "apple-mail"])
def test_an_inline_forward_is_logged_from_the_original_sender(acme, smtp, fmt):
    msg = samples.inline_forward(samples.INLINE[fmt], member=acme.rep.user.email, to=acme.address)

    _send(smtp, acme.address, msg)

    [kept] = _kept(acme)
    assert (kept.from_address, kept.direction, kept.subject, kept.sent_at) == (
        samples.ANNA,
        "in",
        "Angebot für Q2",
        samples.ORIGINAL_AT,
    )
    assert kept.owner_id == acme.rep.user.pk


def test_a_sender_who_is_not_a_member_is_refused_at_rcpt(acme, smtp):
    msg = samples.mail(sender="eve@nowhere.test", to=samples.ANNA, message_id="eve@nowhere.test")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(smtp, acme.address, msg)

    code, reply = refused.value.recipients[acme.address]
    assert code == 550
    assert reply.decode() == "5.7.1 <eve@nowhere.test> is not a member of this workspace"
    assert _kept(acme) == []


def test_a_from_header_that_is_not_a_member_is_refused_at_data(acme, smtp):
    msg = samples.mail(sender="eve@nowhere.test", to=samples.ANNA, message_id="eve2@nowhere.test")

    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(smtp, acme.address, msg, envelope_from=acme.rep.user.email)

    assert refused.value.smtp_code == 550
    assert b"is not a member of this workspace" in refused.value.smtp_error
    assert _kept(acme) == []


@pytest.mark.parametrize("recipient", ["acme+000000000000", "nosuch+{token}", "acme"])
def test_an_unknown_token_or_slug_is_refused_at_rcpt(acme, smtp, recipient):
    token = acme.address.split("+")[1].split("@")[0]
    to = f"{recipient.format(token=token)}@{django_settings.MAIL_DOMAIN}"
    msg = samples.mail(sender=acme.rep.user.email, to=samples.ANNA, message_id="u@acme.test")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(smtp, to, msg)

    code, reply = refused.value.recipients[to]
    assert code == 550 and reply.startswith(b"5.1.1")
    assert _kept(acme) == []


def test_the_old_address_is_refused_after_rotation(acme, smtp):
    with acme.activate():
        new = str(rotate_inbound_address(by=acme.admin.user))
    msg = samples.mail(sender=acme.rep.user.email, to=samples.ANNA, message_id="rot@acme.test")

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _send(smtp, acme.address, msg)
    assert _kept(acme) == []
    assert _send(smtp, new, msg) == {}
    assert len(_kept(acme)) == 1


def test_a_duplicate_delivery_is_accepted_and_stored_once(acme, smtp):
    msg = samples.mail(sender=acme.rep.user.email, to=samples.ANNA, message_id="dup@acme.test")

    _send(smtp, acme.address, msg)
    _send(smtp, acme.address, msg)  # the sending server retried: accepted again

    assert [m.message_id for m in _kept(acme)] == ["dup@acme.test"]


def test_a_message_with_no_contact_is_accepted_and_the_reply_says_it_was_not_kept(acme, smtp):
    msg = samples.mail(sender=acme.rep.user.email, to="x@nowhere.test", message_id="n@acme.test")

    smtp.ehlo()
    smtp.mail(acme.rep.user.email)
    smtp.rcpt(acme.address)
    code, reply = smtp.data(_wire(msg))

    assert code == 250 and b"nothing was kept" in reply
    assert _kept(acme) == []


def test_an_oversize_message_is_refused_with_552(acme, settings):
    settings.MAIL_MESSAGE_MAX_BYTES = 20_000
    msg = samples.mail(
        sender=acme.rep.user.email,
        to=samples.ANNA,
        body=("x" * 70 + "\n") * 430,
        message_id="big@acme.test",
    )
    with running_gateway() as server, smtplib.SMTP("127.0.0.1", server.port) as client:
        # smtplib declares the size (SIZE=…): refused before the message is sent
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            _send(client, acme.address, msg)
        assert refused.value.smtp_code == 552
        client.rset()
        # a server that does not declare it: refused when the data passes the limit
        client.mail(acme.rep.user.email)
        client.rcpt(acme.address)
        code, _reply = client.data(_wire(msg))
    assert code == 552
    assert _kept(acme) == []


def test_a_failure_while_logging_is_a_temporary_refusal_so_the_sender_retries(
    acme, smtp, monkeypatch
):
    def broken(*args):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(inbound, "receive", broken)
    msg = samples.mail(sender=acme.rep.user.email, to=samples.ANNA, message_id="t@acme.test")

    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(smtp, acme.address, msg)

    assert refused.value.smtp_code == 451
    assert _kept(acme) == []


def test_the_tenant_of_a_delivery_is_the_one_addressed(acme, org_b, smtp):
    with org_b.activate():
        factories.ContactFactory(email=samples.ANNA)
        globex = str(inbound_address(org_b.tenant))
    msg = samples.mail(sender=org_b.rep.user.email, to=samples.ANNA, message_id="g@globex.test")

    _send(smtp, globex, msg)

    assert _kept(acme) == []
    [kept] = _kept(org_b)
    assert kept.tenant_id == Tenant.objects.get(slug="globex").pk


def test_manage_py_mail_gateway_serves_smtp_until_stopped():
    port = free_port()
    command = [sys.executable, "manage.py", "mail_gateway", "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603 - our own command
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        banner = process.stdout.readline()
        assert f"127.0.0.1:{port}" in banner, process.stderr.read()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            code, _ = client.ehlo()
            assert code == 250
            code, reply = client.docmd("MAIL FROM:<rep@acme.test>")
            assert code == 250
            code, reply = client.docmd("RCPT TO:<someone@elsewhere.test>")
            assert code == 550 and b"not the address of a Keel workspace" in reply
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
