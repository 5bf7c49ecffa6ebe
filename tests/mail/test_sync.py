"""Mailbox sync against a real Dovecot: matching, threading, once per workspace, the
UIDVALIDITY reset, bad input and a server that is down or refuses the password."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Activity
from mail.models import EmailLink, EmailMessage, EmailThread, MailboxFolder
from mail.services.sync import sync_mailbox
from pipeline.models import DealActivity
from tests import factories
from tests.mail.helpers import mailbox_for
from tests.mail.servers import message


@pytest.fixture
def customer(tenant_a):
    org = factories.OrganizationFactory(name="Müller GmbH")
    return factories.ContactFactory(email="Anna.Mueller@mueller.test", organization=org)


def _sync(mailbox):
    return sync_mailbox(mailbox.pk, tenant=mailbox.tenant)


def test_a_customers_mail_becomes_one_email_activity_on_contact_org_and_deal(
    tenant_a, dovecot, customer
):
    deal = factories.DealFactory(primary_contact=customer, organization=customer.organization)
    mailbox, user = mailbox_for(tenant_a.rep, dovecot)
    dovecot.append(
        user,
        message(
            sender="Anna Müller <anna.mueller@mueller.test>",
            to=tenant_a.rep.user.email,
            message_id="m1@mueller.test",
            subject="Angebot",
            body="Können Sie liefern?",
        ),
    )
    dovecot.append(
        user,
        message(
            sender="friend@elsewhere.test",
            to=tenant_a.rep.user.email,
            message_id="private@elsewhere.test",
        ),
    )

    result = _sync(mailbox)

    assert (result.seen, result.logged) == (2, 1)
    kept = EmailMessage.objects.get()
    assert kept.message_id == "m1@mueller.test"
    assert kept.direction == "in" and kept.text == "Können Sie liefern?"
    activity = kept.activity
    assert (activity.kind, activity.contact, activity.organization) == (
        "email",
        customer,
        customer.organization,
    )
    assert activity.captured and activity.inbound and activity.logged_by == tenant_a.rep.user
    links = EmailLink.objects.filter(message=kept)
    assert {(link.contact_id, link.organization_id, link.deal_id) for link in links} == {
        (customer.pk, None, None),
        (None, customer.organization_id, None),
        (None, None, deal.pk),
    }
    assert DealActivity.objects.filter(deal=deal, activity=activity).exists()
    mailbox.refresh_from_db()
    assert (mailbox.messages_seen, mailbox.messages_logged, mailbox.last_error) == (2, 1, "")


def test_sync_is_incremental_and_threads_replies_and_sent_mail(tenant_a, dovecot, customer):
    mailbox, user = mailbox_for(tenant_a.rep, dovecot)
    dovecot.append(
        user,
        message(
            sender=tenant_a.rep.user.email,
            to=customer.email,
            subject="Pricing",
            message_id="out1@acme.test",
        ),
        folder="Sent",
    )
    _sync(mailbox)
    dovecot.append(
        user,
        message(
            sender=customer.email,
            to=tenant_a.rep.user.email,
            subject="Re: Pricing",
            message_id="in1@mueller.test",
            in_reply_to="out1@acme.test",
        ),
    )

    second = _sync(mailbox)

    assert (second.seen, second.logged) == (1, 1)
    out, reply = EmailMessage.objects.order_by("sent_at", "id")
    assert out.direction == "out" and not out.activity.inbound
    assert reply.direction == "in" and reply.thread_id == out.thread_id
    assert EmailThread.objects.get().subject == "Pricing"
    assert _sync(mailbox).seen == 0


def test_the_same_message_in_two_members_mailboxes_is_kept_once(tenant_a, dovecot, customer):
    raw = message(
        sender=customer.email,
        to=f"{tenant_a.rep.user.email}, {tenant_a.rep2.user.email}",
        message_id="both@mueller.test",
    )
    first, first_user = mailbox_for(tenant_a.rep, dovecot)
    second, second_user = mailbox_for(tenant_a.rep2, dovecot)
    dovecot.append(first_user, raw)
    dovecot.append(second_user, raw)

    assert _sync(first).logged == 1
    assert _sync(second).logged == 0
    assert EmailMessage.objects.count() == 1
    assert Activity.objects.filter(kind="email").count() == 1


def test_a_changed_uidvalidity_reads_the_folder_again_without_duplicates(
    tenant_a, dovecot, customer
):
    mailbox, user = mailbox_for(tenant_a.rep, dovecot)
    dovecot.append(
        user, message(sender=customer.email, to=tenant_a.rep.user.email, message_id="a@m.test")
    )
    _sync(mailbox)
    inbox = MailboxFolder.objects.get(mailbox=mailbox, role="inbox")
    inbox.uidvalidity = 1  # as if the server had renumbered the folder since
    inbox.save()
    dovecot.append(
        user, message(sender=customer.email, to=tenant_a.rep.user.email, message_id="b@m.test")
    )

    result = _sync(mailbox)

    assert (result.seen, result.logged) == (2, 1)
    assert sorted(EmailMessage.objects.values_list("message_id", flat=True)) == [
        "a@m.test",
        "b@m.test",
    ]
    inbox.refresh_from_db()
    assert inbox.uidvalidity != 1 and inbox.last_uid == 2


def test_mail_between_members_is_not_kept_even_if_a_member_is_also_a_contact(tenant_a, dovecot):
    factories.ContactFactory(email=tenant_a.rep2.user.email)
    mailbox, user = mailbox_for(tenant_a.rep, dovecot)
    dovecot.append(
        user,
        message(
            sender=tenant_a.rep2.user.email, to=tenant_a.rep.user.email, message_id="int@acme.test"
        ),
    )
    assert _sync(mailbox).logged == 0
    assert not EmailMessage.objects.exists()


def test_bad_input_is_kept_as_far_as_it_reads(tenant_a, dovecot, customer):
    mailbox, user = mailbox_for(tenant_a.rep, dovecot)
    no_id = (
        f"From: =?iso-8859-1?q?J=FCrgen?= <{customer.email}>\r\nTo: {tenant_a.rep.user.email}\r\n"
        "Subject: =?utf-8?b?w5xiZXJzaWNodA==?=\r\nDate: not a date\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Gr\xc3\xbc\xc3\x9fe\x00 aus M\xc3\xbcnchen\r\n"
    ).encode("latin-1")
    dovecot.append(user, no_id)
    dovecot.append(user, no_id)  # the same bytes twice: one message, by a derived id
    broken = (
        f"From: {customer.email}\r\nTo: {tenant_a.rep.user.email}\r\nMessage-ID: <broken@m.test>\r\n"
        'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n--never-closed\r\n'
        "Content-Type: text/plain\r\n\r\nhalf a message"
    ).encode()
    dovecot.append(user, broken)

    assert _sync(mailbox).logged == 2
    derived = EmailMessage.objects.get(message_id__endswith="@no-message-id")
    assert derived.subject == "Übersicht"
    assert derived.from_name == "Jürgen"
    assert "Grüße" in derived.text and "aus München" in derived.text  # Dovecot replaces the NUL
    assert "The Date header could not be read." in derived.notes
    assert "half a message" in EmailMessage.objects.get(message_id="broken@m.test").text


def test_a_wrong_password_is_said_on_the_mailbox_and_retried_later(tenant_a, dovecot, customer):
    from mail import secrets

    mailbox, _ = mailbox_for(tenant_a.rep, dovecot)
    mailbox.password_encrypted = secrets.encrypt("wrong")
    mailbox.save()

    assert _sync(mailbox).logged == 0
    mailbox.refresh_from_db()
    assert "refused the user name or password" in mailbox.last_error
    assert mailbox.failures == 1
    assert mailbox.next_sync_at > timezone.now() + timedelta(minutes=1)
    assert mailbox.sync_lease_until is None


def test_a_server_that_is_down_backs_off_and_a_later_sync_catches_up(tenant_a, dovecot, customer):
    from tests.mail.servers import free_port

    mailbox, user = mailbox_for(tenant_a.rep, dovecot)
    mailbox.imap_port = free_port()
    mailbox.save()
    dovecot.append(
        user, message(sender=customer.email, to=tenant_a.rep.user.email, message_id="late@m.test")
    )
    _sync(mailbox)
    _sync(mailbox)
    mailbox.refresh_from_db()
    assert mailbox.failures == 2 and "Could not connect" in mailbox.last_error

    mailbox.imap_port = dovecot.port
    mailbox.save()
    assert _sync(mailbox).logged == 1
    mailbox.refresh_from_db()
    assert (mailbox.failures, mailbox.last_error) == (0, "")
    assert EmailMessage.objects.filter(message_id="late@m.test").count() == 1


def test_a_30_mb_attachment_over_the_cap_is_left_out_and_the_message_says_so(
    tenant_a, dovecot, customer
):
    mailbox, user = mailbox_for(tenant_a.rep, dovecot)
    big = message(
        sender=customer.email, to=tenant_a.rep.user.email, message_id="30mb@m.test", subject="Scans"
    )
    big.add_attachment(
        os.urandom(30 * 1024 * 1024), maintype="application", subtype="zip", filename="scans.zip"
    )
    big.add_attachment(b"signed", maintype="text", subtype="plain", filename="note.txt")
    dovecot.append(user, big)

    assert _sync(mailbox).logged == 1

    kept = EmailMessage.objects.get(message_id="30mb@m.test")
    assert list(kept.attachments.values_list("filename", flat=True)) == ["note.txt"]
    assert kept.notes == [
        "scans.zip (30.0 MB) is over the 25 MB limit for attachments and was not kept."
    ]
