"""What capture keeps of a message, without a server: attachments and the cap, sanitised
HTML, every matched contact's timeline, replies that arrive first, key rotation."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.management import call_command

from mail import secrets
from mail.models import EmailLink, EmailMessage, EmailThread
from mail.parsing import parse
from mail.services.capture import capture
from tests import factories
from tests.mail.helpers import mailbox_for
from tests.mail.servers import message


def _capture(msg, owner, **kwargs):
    return capture(parse(msg.as_bytes()), owner=owner, source="imap", outgoing=False, **kwargs)


def test_an_attachment_over_the_cap_is_not_kept_and_the_message_says_so(tenant_a, settings):
    settings.MAIL_ATTACHMENT_MAX_BYTES = 1024 * 1024
    contact = factories.ContactFactory()
    msg = message(sender=contact.email, to=tenant_a.rep.user.email, message_id="big@m.test")
    msg.add_attachment(b"x" * 2_000_000, maintype="application", subtype="zip", filename="big.zip")
    msg.add_attachment(b"small", maintype="text", subtype="plain", filename="ok.txt")

    kept = _capture(msg, tenant_a.rep.user).message

    assert list(kept.attachments.values_list("filename", flat=True)) == ["ok.txt"]
    assert kept.notes == [
        "big.zip (1.9 MB) is over the 1 MB limit for attachments and was not kept."
    ]
    page = tenant_a.client_for(tenant_a.rep).get(tenant_a.url(f"mail/threads/{kept.thread_id}/"))
    assert "big.zip" in page.content.decode() and "ok.txt" in page.content.decode()


def test_html_is_sanitised_and_the_text_falls_back_to_it(tenant_a):
    contact = factories.ContactFactory()
    msg = message(sender=contact.email, to=tenant_a.rep.user.email, message_id="h@m.test")
    msg.set_content(
        '<p onclick="steal()">Offer<script>alert(1)</script> <img src="https://t.example/p.gif"><a href="javascript:x()">x</a></p>',
        subtype="html",
    )

    kept = _capture(msg, tenant_a.rep.user).message

    assert "script" not in kept.html and "onclick" not in kept.html and "img" not in kept.html
    assert "javascript" not in kept.html and "Offer" in kept.html
    assert kept.text.startswith("Offer")


def test_each_matched_contact_sees_the_message_on_their_timeline(tenant_a):
    ana, ben = factories.ContactFactory(), factories.ContactFactory()
    msg = message(
        sender=ana.email,
        to=f"{tenant_a.rep.user.email}, {ben.email}",
        subject="Joint call",
        message_id="j@m.test",
    )
    kept = _capture(msg, tenant_a.rep.user).message

    assert kept.activity.contact == ana
    assert set(
        EmailLink.objects.filter(message=kept, contact__isnull=False).values_list(
            "contact_id", flat=True
        )
    ) == {ana.pk, ben.pk}
    client = tenant_a.client_for(tenant_a.rep)
    for person in (ana, ben):
        page = client.get(tenant_a.url(f"contacts/{person.pk}/")).content.decode()
        assert page.count("Joint call") == 1


def test_a_reply_kept_before_its_original_joins_the_originals_thread(tenant_a):
    contact = factories.ContactFactory()
    reply = message(
        sender=contact.email,
        to=tenant_a.rep.user.email,
        subject="Re: Terms",
        message_id="r@m.test",
        in_reply_to="o@acme.test",
    )
    original = message(
        sender=tenant_a.rep.user.email, to=contact.email, subject="Terms", message_id="o@acme.test"
    )

    first = _capture(reply, tenant_a.rep.user).message
    second = capture(
        parse(original.as_bytes()), owner=tenant_a.rep.user, source="imap", outgoing=True
    ).message

    first.refresh_from_db()
    assert first.thread_id == second.thread_id
    assert EmailThread.objects.count() == 1


def test_a_message_with_no_contact_is_not_kept(tenant_a):
    msg = message(sender="stranger@nowhere.test", to=tenant_a.rep.user.email, message_id="s@m.test")
    assert _capture(msg, tenant_a.rep.user) is None
    assert not EmailMessage.objects.exists()


def test_rotating_keys_reencrypts_passwords_and_the_old_key_can_go(tenant_a, settings, dovecot):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.KEEL_MAIL_KEYS = [old]
    mailbox, _ = mailbox_for(tenant_a.rep, dovecot)
    settings.KEEL_MAIL_KEYS = [new, old]

    call_command("rotate_mail_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115

    settings.KEEL_MAIL_KEYS = [new]
    mailbox.refresh_from_db()
    assert secrets.decrypt(mailbox.password_encrypted) == "app-password-1"


def _conversation(org, contact, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        msg = message(
            sender=contact.email,
            to=org.rep.user.email,
            subject=f"Topic {i}",
            message_id=f"q{i}@m.test",
        )
        msg.add_attachment(b"x", maintype="text", subtype="plain", filename="a.txt")
        _capture(msg, org.rep.user)


def test_the_contact_and_deal_pages_run_as_many_queries_with_many_emails(
    tenant_a, django_assert_max_num_queries
):
    contact = factories.ContactFactory()
    deal = factories.DealFactory(primary_contact=contact, organization=contact.organization)
    _conversation(tenant_a, contact, 2)
    client = tenant_a.client_for(tenant_a.rep)
    pages = [tenant_a.url(f"contacts/{contact.pk}/"), tenant_a.url(f"deals/{deal.pk}/")]
    few = {}
    for url in pages:
        with django_assert_max_num_queries(100) as context:
            client.get(url)
        few[url] = len(context)
    _conversation(tenant_a, contact, 40, start=2)
    for url in pages:
        with django_assert_max_num_queries(few[url]):
            page = client.get(url)
        assert "Topic 41" in page.content.decode()


def test_texts_are_kept_with_plain_newlines(tenant_a):
    contact = factories.ContactFactory()
    raw = (
        f"From: {contact.email}\r\nTo: {tenant_a.rep.user.email}\r\nMessage-ID: <crlf@m.test>\r\n"
        "Subject: Lines\r\n\r\nfirst line\r\nsecond line\r\n"
    ).encode()
    kept = capture(parse(raw), owner=tenant_a.rep.user, source="imap", outgoing=False).message
    assert kept.text == "first line\nsecond line"


def test_the_thread_and_mailbox_pages_run_as_many_queries_with_more_messages(
    tenant_a, dovecot, django_assert_max_num_queries
):
    contact = factories.ContactFactory()
    mailbox_for(tenant_a.rep, dovecot)
    _conversation(tenant_a, contact, 1)
    thread = EmailThread.objects.get()
    client = tenant_a.client_for(tenant_a.rep)
    pages = [tenant_a.url(f"mail/threads/{thread.pk}/"), tenant_a.url("mail/mailbox/")]
    few = {}
    for url in pages:
        with django_assert_max_num_queries(100) as context:
            assert client.get(url).status_code == 200
        few[url] = len(context)
    for i in range(1, 20):
        reply = message(sender=contact.email, to=tenant_a.rep.user.email, subject="Re: Topic 0",
                        message_id=f"r{i}@m.test", in_reply_to="q0@m.test")  # fmt: skip
        reply.add_attachment(b"x", maintype="text", subtype="plain", filename=f"{i}.txt")
        _capture(reply, tenant_a.rep.user)
    for url in pages:
        with django_assert_max_num_queries(few[url]):
            assert client.get(url).status_code == 200
    assert thread.messages.count() == 20
