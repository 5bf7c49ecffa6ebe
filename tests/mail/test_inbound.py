"""The workspace's forward/BCC address, called directly (`receive()`): BCCs, forwards
attached and inline (each mail program's format), who may send, rotation, redelivery, the
size cap; and the page that shows the address. tests/mail/test_gateway.py speaks SMTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email import policy
from zoneinfo import ZoneInfo

import pytest

from contacts.models import Activity
from crm.models import AuditEvent, Membership
from mail.forwards import read_date
from mail.models import EmailLink, EmailMessage, Mailbox
from mail.services import inbound
from mail.services.inbound import inbound_address, receive, rotate_inbound_address
from tests import factories
from tests.mail import forward_samples as samples

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def anna(tenant_a):
    org = factories.OrganizationFactory(name="Müller GmbH")
    return factories.ContactFactory(
        first_name="Anna", email="Anna.Mueller@mueller.test", organization=org
    )


@pytest.fixture
def address(tenant_a) -> str:
    return str(inbound_address(tenant_a.tenant))


@pytest.fixture
def invitations(monkeypatch) -> list:
    """The messages handed to apply_invitations (implemented by the calendar work)."""
    calls = []
    monkeypatch.setattr(inbound, "apply_invitations", lambda parsed, msg: calls.append(msg))
    return calls


def _send(address: str, msg, *, envelope_from: str | None = None):
    """What the gateway hands on: the message as it came over SMTP (CRLF line ends)."""
    sender = envelope_from or msg["From"].addresses[0].addr_spec
    return receive(sender, [address], msg.as_bytes(policy=policy.SMTP))


def test_the_address_is_the_slug_and_a_random_token_at_the_mail_domain(tenant_a, settings):
    first = inbound_address(tenant_a.tenant)
    assert inbound_address(tenant_a.tenant).pk == first.pk  # one per workspace
    slug, _, rest = str(first).partition("+")
    token, _, domain = rest.partition("@")
    assert (slug, domain) == ("acme", settings.MAIL_DOMAIN)
    assert len(token) == 12 and token == token.lower() and token.isalnum()


def test_a_bcc_from_a_member_is_logged_as_an_outgoing_email_on_the_contact(
    tenant_a, anna, address, invitations
):
    deal = factories.DealFactory(primary_contact=anna, organization=anna.organization)
    msg = samples.mail(
        sender=f"Rep Acme <{tenant_a.rep.user.email}>",
        to="Anna Müller <anna.mueller@mueller.test>",
        body="Here is the offer.",
        message_id="bcc-1@acme.test",
    )

    outcome = _send(address, msg)

    assert (outcome.code, outcome.created) == (250, True)
    assert outcome.reply == "250 2.0.0 Logged your message in Keel"
    kept = EmailMessage.objects.get()
    assert (kept.message_id, kept.direction, kept.source) == ("bcc-1@acme.test", "out", "forward")
    assert kept.owner == tenant_a.rep.user and kept.text == "Here is the offer."
    assert (kept.activity.contact, kept.activity.inbound) == (anna, False)
    assert kept.activity.logged_by == tenant_a.rep.user
    assert EmailLink.objects.filter(message=kept, deal=deal).exists()
    assert invitations == [kept]


def test_a_forward_as_attachment_logs_the_original_from_the_customer(
    tenant_a, anna, address, invitations
):
    msg = samples.attached_forward(member=tenant_a.rep.user.email, to=address)

    outcome = _send(address, msg)

    assert outcome.reply == "250 2.0.0 Logged the message from <anna.mueller@mueller.test> in Keel"
    kept = EmailMessage.objects.get()
    assert kept.message_id == "original-1@mueller.test"
    assert (kept.from_address, kept.direction, kept.owner) == (
        "anna.mueller@mueller.test",
        "in",
        tenant_a.rep.user,
    )
    assert kept.sent_at == samples.ORIGINAL_AT
    assert kept.text == "Können Sie bis Freitag liefern?"
    assert (kept.activity.contact, kept.activity.inbound) == (anna, True)
    assert invitations == [kept]


@pytest.mark.parametrize("fmt", samples.INLINE, ids=list(samples.INLINE))
def test_an_inline_forward_logs_the_original_from_its_sender(tenant_a, anna, address, fmt):
    msg = samples.inline_forward(samples.INLINE[fmt], member=tenant_a.rep.user.email, to=address)

    outcome = _send(address, msg)

    assert outcome.created, outcome.reply
    kept = EmailMessage.objects.get()
    assert (kept.from_address, kept.direction, kept.source) == (
        "anna.mueller@mueller.test",
        "in",
        "forward",
    )
    assert kept.subject == "Angebot für Q2"
    assert kept.sent_at == samples.ORIGINAL_AT
    assert kept.text.startswith("Können Sie bis Freitag liefern?")
    assert "Forwarded" not in kept.text and "From:" not in kept.text
    assert kept.activity.contact == anna and kept.activity.inbound
    assert kept.notes == []


def test_an_outlook_forward_keeps_its_to_and_cc(tenant_a, anna, address):
    bob = factories.ContactFactory(email="bob@mueller.test", organization=anna.organization)
    msg = samples.inline_forward(samples.OUTLOOK, member=tenant_a.rep.user.email, to=address)

    _send(address, msg)

    kept = EmailMessage.objects.get()
    assert kept.to == [{"name": "Rep Acme", "address": "rep@acme.test"}]
    assert kept.cc == [{"name": "Bob Buyer", "address": "bob@mueller.test"}]
    assert set(EmailLink.objects.filter(message=kept).values_list("contact", flat=True)) >= {
        anna.pk,
        bob.pk,
    }


def test_an_html_only_gmail_forward_is_read_through_its_html(tenant_a, anna, address):
    msg = samples.mail(
        sender=tenant_a.rep.user.email,
        to=address,
        subject="Fwd: Angebot für Q2",
        html=samples.GMAIL_HTML,
        message_id="fwd-html@acme.test",
    )

    _send(address, msg)

    kept = EmailMessage.objects.get()
    assert (kept.from_address, kept.subject, kept.sent_at) == (
        "anna.mueller@mueller.test",
        "Angebot für Q2",
        samples.ORIGINAL_AT,
    )
    assert kept.text.startswith("Können Sie bis Freitag liefern?")


def test_the_same_inline_forward_delivered_again_is_kept_once(tenant_a, anna, address):
    first = samples.inline_forward(samples.GMAIL, member=tenant_a.rep.user.email, to=address)
    # Another member forwards the same message: another outer message, the same original.
    again = samples.inline_forward(
        samples.GMAIL, member=tenant_a.rep2.user.email, to=address, message_id="fwd-2@acme.test"
    )

    assert _send(address, first).created
    outcome = _send(address, again)

    assert (outcome.code, outcome.created, outcome.reason) == (250, False, "Already logged in Keel")
    assert EmailMessage.objects.count() == 1 and Activity.objects.filter(kind="email").count() == 1


def test_a_forward_of_the_members_own_message_is_outgoing(tenant_a, anna, address):
    rep = tenant_a.rep.user.email
    body = samples.GMAIL.replace(f"Anna Müller <{samples.ANNA}>", f"Rep Acme <{rep}>").replace(
        "To: Rep Acme <rep@acme.test>", f"To: Anna Müller <{samples.ANNA}>"
    )
    msg = samples.inline_forward(body, member=rep, to=address)

    _send(address, msg)

    kept = EmailMessage.objects.get()
    assert (kept.from_address, kept.direction) == (rep, "out")
    assert kept.activity.contact == anna and not kept.activity.inbound


def test_a_reply_to_a_contact_that_quotes_a_forward_is_the_members_own_message(
    tenant_a, anna, address
):
    msg = samples.mail(
        sender=tenant_a.rep.user.email,
        to=samples.ANNA,
        subject="Re: Angebot für Q2",
        body="Yes, Friday works.\n\n" + samples.GMAIL,
        message_id="reply-1@acme.test",
    )

    _send(address, msg)

    kept = EmailMessage.objects.get()
    assert (kept.message_id, kept.direction, kept.from_address) == (
        "reply-1@acme.test",
        "out",
        tenant_a.rep.user.email,
    )


def test_a_duplicate_delivery_is_accepted_and_stored_once(tenant_a, anna, address, invitations):
    msg = samples.mail(
        sender=tenant_a.rep.user.email, to=samples.ANNA, message_id="bcc-dup@acme.test"
    )

    first, second = _send(address, msg), _send(address, msg)

    assert (first.created, second.created, second.code) == (True, False, 250)
    assert second.message == first.message
    assert EmailMessage.objects.count() == 1
    assert len(invitations) == 1


def test_a_message_with_no_contact_is_accepted_but_not_kept(tenant_a, address, invitations):
    msg = samples.mail(
        sender=tenant_a.rep.user.email, to="stranger@nowhere.test", message_id="x@acme.test"
    )

    outcome = _send(address, msg)

    assert outcome.code == 250 and outcome.message is None
    assert "no contact" in outcome.reason and "nothing was kept" in outcome.reason
    assert not EmailMessage.objects.exists() and invitations == []


@pytest.mark.parametrize(
    "sender,envelope",
    [
        ("stranger@nowhere.test", "stranger@nowhere.test"),
        ("stranger@nowhere.test", "rep@acme.test"),  # a member's envelope, a stranger's From
        ("rep@acme.test", "stranger@nowhere.test"),  # a member's From, a stranger's envelope
        ("rep@acme.test", ""),  # a bounce (MAIL FROM:<>)
        ("rep@globex.test", "rep@globex.test"),  # a member of another workspace
    ],
)
def test_mail_from_anyone_but_a_member_is_refused_and_nothing_stored(
    tenant_a, org_b, anna, address, sender, envelope
):
    msg = samples.mail(sender=sender, to=samples.ANNA, message_id="spoof@nowhere.test")

    outcome = receive(envelope, [address], msg.as_bytes())

    assert (outcome.code, outcome.status) == (550, "5.7.1")
    assert "is not a member of this workspace" in outcome.reason
    assert not EmailMessage.objects.exists()


def test_a_deactivated_member_is_refused(tenant_a, anna, address):
    Membership.objects.filter(pk=tenant_a.rep.pk).update(is_active=False)
    msg = samples.mail(sender=tenant_a.rep.user.email, to=samples.ANNA, message_id="d@acme.test")

    assert _send(address, msg).code == 550
    assert not EmailMessage.objects.exists()


def test_a_member_may_send_from_their_connected_mailbox_address(tenant_a, anna, address):
    Mailbox.objects.create(
        user=tenant_a.rep.user,
        email="Rep.Work@acme-mail.test",
        imap_host="127.0.0.1",
        username="rep",
        password_encrypted="x",
    )
    msg = samples.mail(sender="rep.work@acme-mail.test", to=samples.ANNA, message_id="m@acme.test")

    outcome = _send(address, msg)

    assert outcome.created
    assert EmailMessage.objects.get().owner == tenant_a.rep.user


@pytest.mark.parametrize(
    "recipient",
    [
        "globex+{token}@{domain}",  # another workspace's slug with acme's token
        "acme+000000000000@{domain}",  # a wrong token
        "acme@{domain}",  # no token
        "nosuch+{token}@{domain}",  # no such workspace
        "acme+{token}@elsewhere.test",  # not the mail domain
    ],
)
def test_mail_for_an_unknown_address_is_refused(tenant_a, org_b, anna, settings, recipient):
    token = inbound_address(tenant_a.tenant).token
    with org_b.activate():
        inbound_address(org_b.tenant)
    to = recipient.format(token=token, domain=settings.MAIL_DOMAIN)
    msg = samples.mail(sender=tenant_a.rep.user.email, to=samples.ANNA, message_id="u@acme.test")

    outcome = _send(to, msg)

    assert (outcome.code, outcome.status) == (550, "5.1.1")
    assert not EmailMessage.objects.exists()
    assert inbound.refuse_recipient(tenant_a.rep.user.email, to).code == 550


def test_the_address_is_case_insensitive(tenant_a, anna, address):
    msg = samples.mail(sender="REP@ACME.TEST", to=samples.ANNA, message_id="c@acme.test")

    assert _send(address.upper(), msg).created


def test_a_rotated_address_stops_working_and_the_new_one_works(tenant_a, anna, address):
    new = rotate_inbound_address(by=tenant_a.admin.user)

    assert str(new) != address
    old_try = samples.mail(sender=tenant_a.rep.user.email, to=samples.ANNA, message_id="o@a.test")
    assert _send(address, old_try).code == 550
    assert inbound.refuse_recipient(tenant_a.rep.user.email, address).status == "5.1.1"
    assert inbound.refuse_recipient(tenant_a.rep.user.email, str(new)) is None
    assert _send(str(new), old_try).created
    event = AuditEvent.objects.get(verb="inbound_address.rotated")
    assert (event.actor, event.target_id) == (tenant_a.admin.user, new.pk)


def test_a_message_over_the_size_limit_is_refused_with_552(tenant_a, anna, address, settings):
    settings.MAIL_MESSAGE_MAX_BYTES = 10_000
    msg = samples.mail(
        sender=tenant_a.rep.user.email, to=samples.ANNA, body="x" * 12_000, message_id="b@a.test"
    )

    outcome = _send(address, msg)

    assert (outcome.code, outcome.status) == (552, "5.3.4")
    assert "0.01 MB" in outcome.reason
    assert not EmailMessage.objects.exists()


@pytest.mark.parametrize(
    "value,expected",
    [
        ("Tue, Mar 4, 2025 at 3:15 PM", datetime(2025, 3, 4, 15, 15, tzinfo=BERLIN)),
        ("Tuesday, March 4, 2025 3:15 PM", datetime(2025, 3, 4, 15, 15, tzinfo=BERLIN)),
        ("Tuesday, 4 March 2025 15:15", datetime(2025, 3, 4, 15, 15, tzinfo=BERLIN)),
        ("4 March 2025 at 15:15:00 GMT+1", datetime(2025, 3, 4, 14, 15, tzinfo=UTC)),
        ("March 4, 2025 at 6:15:00 AM PST", datetime(2025, 3, 4, 14, 15, tzinfo=UTC)),
        ("Tue, 4 Mar 2025 15:15:00 +0100", datetime(2025, 3, 4, 14, 15, tzinfo=UTC)),
        ("Dienstag, 4. März 2025 15:15", datetime(2025, 3, 4, 15, 15, tzinfo=BERLIN)),
        ("mar. 4 mars 2025 à 15:15", datetime(2025, 3, 4, 15, 15, tzinfo=BERLIN)),
        ("Tue, Mar 4, 2025 at 12:05 AM", datetime(2025, 3, 4, 0, 5, tzinfo=BERLIN)),
        ("2025-03-04 15:15 (UTC+05:30)", datetime(2025, 3, 4, 9, 45, tzinfo=UTC)),
        ("Wed, 5 Mar 2025 01:00:00 -0500", datetime(2025, 3, 5, 6, 0, tzinfo=UTC)),
    ],
)
def test_forward_dates_in_the_formats_mail_programs_print(value, expected):
    assert read_date(value, tz=BERLIN) == expected


@pytest.mark.parametrize("value", ["", "yesterday", "Tue, 31 Feb 2025 10:00", "03/04/2025"])
def test_a_forward_date_that_names_no_day_is_none(value):
    assert read_date(value, tz=timezone(timedelta(hours=1))) is None


def test_a_forward_without_a_readable_date_takes_the_forwards_and_says_so(tenant_a, anna, address):
    body = samples.GMAIL.replace("Date: Tue, Mar 4, 2025 at 3:15 PM", "Date: gestern")
    msg = samples.inline_forward(body, member=tenant_a.rep.user.email, to=address)

    _send(address, msg)

    kept = EmailMessage.objects.get()
    assert kept.sent_at == datetime(2025, 3, 6, 8, 0, tzinfo=UTC)  # the forward's Date
    assert kept.notes == ["The forwarded message's date could not be read; the forward's is used."]


def test_a_marker_without_a_sender_below_it_is_no_forward(tenant_a, anna, address):
    body = "Thanks!\n\n________________________________\nSent from my phone\n"
    msg = samples.mail(
        sender=tenant_a.rep.user.email, to=samples.ANNA, body=body, message_id="s@acme.test"
    )

    _send(address, msg)

    kept = EmailMessage.objects.get()
    assert (kept.message_id, kept.direction) == ("s@acme.test", "out")


# The page


def test_every_member_sees_the_address_and_how_to_use_it(
    org_a, org_b, django_assert_max_num_queries
):
    client = org_a.client_for(org_a.rep)
    client.get(org_a.url("mail/forwarding/"))  # the address is made on the first visit

    with django_assert_max_num_queries(11):
        response = client.get(org_a.url("mail/forwarding/"))

    with org_a.activate():
        address = str(inbound_address(org_a.tenant))
    page = response.content.decode()
    assert response.status_code == 200 and address in page
    assert "BCC" in page and "Only members' mail" in page
    assert "mail/forwarding/rotate/" not in page  # a rep cannot replace it


def test_only_an_admin_replaces_the_address(org_a):
    with org_a.activate():
        before = str(inbound_address(org_a.tenant))
    url = org_a.url("mail/forwarding/rotate/")

    assert org_a.client_for(org_a.rep).post(url).status_code == 403
    assert org_a.client_for(org_a.manager).post(url).status_code == 403
    admin = org_a.client_for(org_a.admin)
    assert admin.get(url).status_code == 405
    page = admin.get(org_a.url("mail/forwarding/")).content.decode()
    assert "mail/forwarding/rotate/" in page
    response = admin.post(url, follow=True)

    with org_a.activate():
        after = str(inbound_address(org_a.tenant))
    assert after != before
    assert response.redirect_chain[-1][0] == org_a.url("mail/forwarding/")
    assert (
        after in response.content.decode() and "no longer accepts mail" in response.content.decode()
    )


def test_the_mailbox_page_links_to_the_address(org_a):
    response = org_a.client_for(org_a.rep).get(org_a.url("mail/mailbox/"))

    assert org_a.url("mail/forwarding/") in response.content.decode()
