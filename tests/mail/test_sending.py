"""Sending from Keel against a real SMTP server (aiosmtpd, `smtp_sink`): the exact message
arrives, is logged at once as an outgoing e-mail threaded with its reply, merge fields
fill in safely, a failed send keeps nothing, and the pages work for the right people."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Activity
from crm.models import AuditEvent
from mail import secrets
from mail.models import EmailLink, EmailMessage, EmailTemplate, Mailbox
from mail.parsing import parse
from mail.services.capture import capture
from mail.services.sending import render_template, send_email
from pipeline.models import DealActivity
from reporting.scorecards import compute_scorecard
from tests import factories
from tests.mail.servers import PASSWORD, free_port, message


@pytest.fixture
def customer(tenant_a):
    org = factories.OrganizationFactory(name="Ruiz Hermanos")
    return factories.ContactFactory(
        first_name="Ana", last_name="Ruiz", email="Ana.Ruiz@ruiz.test", organization=org
    )


def own_server(member, sink, **fields) -> Mailbox:
    """`member`'s mailbox, sending through the sink (no TLS: a server on this machine)."""
    return Mailbox.objects.create(
        user=member.user,
        email=member.user.email,
        imap_host="127.0.0.1",
        imap_security="none",
        username=f"{member.user.email}-login",
        password_encrypted=secrets.encrypt(PASSWORD),
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        smtp_security="none",
        **fields,
    )


@pytest.fixture
def workspace_server(settings, smtp_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "Keel <keel@keel.test>"
    return smtp_sink


def _reply_to(sent: EmailMessage, *, owner, sender="ana.ruiz@ruiz.test"):
    reply = message(
        sender=sender,
        to=owner.email,
        subject=f"Re: {sent.subject}",
        body="Sounds good.",
        message_id="reply-1@ruiz.test",
        in_reply_to=sent.message_id,
        date=format_datetime(timezone.now() + timedelta(minutes=1)),
    )
    return capture(parse(reply.as_bytes()), owner=owner, source="imap", outgoing=False)


# Sending and logging


def test_the_members_server_receives_the_exact_message_and_keel_logs_it_at_once(
    tenant_a, smtp_sink, customer
):
    mailbox = own_server(tenant_a.rep, smtp_sink)

    sent = send_email(
        by=tenant_a.rep.user,
        to="Ana Ruiz <ana.ruiz@ruiz.test>",
        cc="finance@ruiz.test; ana.ruiz@ruiz.test",
        subject="Your offer, {{ contact.first_name }}",
        body="Dear {{ contact.first_name }},\n\nthe offer for {{ organization.name }}.\n\n"
        "{{ sender.full_name }}",
        contact=customer,
    )

    [received] = smtp_sink.received
    assert received.sender == mailbox.email
    assert received.recipients == ["ana.ruiz@ruiz.test", "finance@ruiz.test"]
    # The member's own login, with the password decrypted.
    assert smtp_sink.logins == [(mailbox.username, PASSWORD)]
    got = received.message
    assert got["From"] == f"Rep Acme <{mailbox.email}>"
    assert got["To"] == "Ana Ruiz <ana.ruiz@ruiz.test>" and got["Cc"] == "finance@ruiz.test"
    assert got["Subject"] == "Your offer, Ana"
    text = "Dear Ana,\r\n\r\nthe offer for Ruiz Hermanos.\r\n\r\nRep Acme\r\n"  # as on the wire
    assert got.get_content() == text
    assert sent.text == "Dear Ana,\n\nthe offer for Ruiz Hermanos.\n\nRep Acme"
    assert "Sender" not in got
    # What Keel keeps is what the server got: the reply's In-Reply-To will name it.
    assert got["Message-ID"] == f"<{sent.message_id}>"
    assert parse(received.raw).message_id == sent.message_id
    assert (sent.direction, sent.source, sent.subject) == ("out", "sent", "Your offer, Ana")
    activity = Activity.objects.get()
    assert sent.activity == activity
    assert (activity.kind, activity.contact, activity.organization) == (
        "email",
        customer,
        customer.organization,
    )
    assert activity.captured and not activity.inbound
    assert activity.logged_by == tenant_a.rep.user
    event = AuditEvent.objects.get(verb="email.sent")
    assert event.target_id == sent.pk and event.changes["via"] == [None, "127.0.0.1"]
    assert event.changes["to"] == [None, ["ana.ruiz@ruiz.test"]]

    reply = _reply_to(sent, owner=tenant_a.rep.user)

    assert reply.created and reply.message.thread_id == sent.thread_id
    assert list(sent.thread.messages.values_list("direction", flat=True)) == ["out", "in"]


def test_the_workspace_server_sends_from_the_member_with_keel_as_sender_and_logs_on_the_deal(
    tenant_a, workspace_server, customer
):
    composed_on = factories.DealFactory(
        primary_contact=customer, organization=customer.organization, name="Renewal"
    )
    factories.DealFactory(primary_contact=customer, organization=customer.organization)

    sent = send_email(
        by=tenant_a.rep.user,
        to=customer.email,
        subject="{{ deal.name }}: {{ deal.amount }}",
        body='Hello {{ contact.first_name|default:"there" }}',
        deal=composed_on,
    )

    [received] = workspace_server.received
    assert received.sender == "keel@keel.test"  # bounces go to the workspace
    assert received.recipients == ["ana.ruiz@ruiz.test"]
    got = received.message
    assert got["From"] == f"Rep Acme <{tenant_a.rep.user.email}>"
    assert got["Sender"] == "Keel <keel@keel.test>"
    assert got["Subject"] == "Renewal: €1,000"
    assert got["Message-ID"] == f"<{sent.message_id}>"
    assert got.get_content() == "Hello Ana\r\n"
    # On the deal it was composed on, though the other deal is more recent.
    assert DealActivity.objects.get(activity=sent.activity).deal == composed_on
    assert EmailLink.objects.filter(message=sent, deal=composed_on).exists()
    assert sent.activity.contact == customer
    assert AuditEvent.objects.get(verb="email.sent").changes["via"] == [None, "workspace"]


def test_the_workspace_backend_may_be_any_of_djangos(
    tenant_a, settings, mailoutbox, tmp_path, customer
):
    """make run writes mail to files; tests and API backends read the message object."""
    kept = send_email(
        by=tenant_a.rep.user, to=customer.email, subject="A", body="Hi", contact=customer
    )
    [outgoing] = mailoutbox
    assert outgoing.message()["Message-ID"] == f"<{kept.message_id}>"
    assert outgoing.to == ["ana.ruiz@ruiz.test"] and outgoing.subject == "A"

    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    kept = send_email(
        by=tenant_a.rep.user, to=customer.email, subject="B", body="Hi", contact=customer
    )
    [written] = tmp_path.iterdir()
    assert f"Message-ID: <{kept.message_id}>" in written.read_text()


def test_mail_to_someone_keel_does_not_know_is_still_logged_where_it_was_composed(
    tenant_a, workspace_server, customer
):
    sent = send_email(
        by=tenant_a.rep.user,
        to="assistant@elsewhere.test",
        subject="For Ana",
        body="Please forward.",
        contact=customer,
    )
    assert sent.activity.contact == customer
    assert EmailLink.objects.filter(message=sent, contact=customer).exists()

    organization_deal = factories.DealFactory(primary_contact=None, name="Org only")
    on_org = send_email(
        by=tenant_a.rep.user,
        to="buyer@elsewhere.test",
        subject="Hi",
        body="Hello",
        deal=organization_deal,
    )
    assert on_org.activity.contact is None
    assert on_org.activity.organization == organization_deal.organization
    assert DealActivity.objects.filter(deal=organization_deal, activity=on_org.activity).exists()

    nobody = factories.DealFactory(primary_contact=None, organization=None)
    with pytest.raises(ValidationError, match="add the person as a contact first"):
        send_email(
            by=tenant_a.rep.user, to="x@elsewhere.test", subject="Hi", body="Hi", deal=nobody
        )
    assert len(workspace_server.received) == 2


def test_a_leads_first_email_from_keel_sets_its_lead_response_time(tenant_a, workspace_server):
    created = timezone.now() - timedelta(hours=3)
    lead = factories.ContactFactory(lifecycle="lead", created_at=created, email="new@lead.test")
    today = timezone.localdate(timezone.now(), tenant_a.tenant.tz)
    period = {"start": today - timedelta(days=1), "end": today + timedelta(days=1)}
    assert compute_scorecard(tenant_a.tenant, **period)["leads_unanswered"] == 1

    send_email(by=tenant_a.rep.user, to=lead.email, subject="Thanks", body="Hi", contact=lead)

    figures = compute_scorecard(tenant_a.tenant, **period)
    assert figures["leads_unanswered"] == 0
    assert figures["lead_response_hours"] == pytest.approx(3.0, abs=0.01)


def test_a_sent_message_found_again_in_the_sent_folder_is_not_kept_twice(
    tenant_a, smtp_sink, customer
):
    own_server(tenant_a.rep, smtp_sink)
    sent = send_email(
        by=tenant_a.rep.user, to=customer.email, subject="Hi", body="Hi", contact=customer
    )
    again = capture(
        parse(smtp_sink.received[0].raw), owner=tenant_a.rep.user, source="imap", outgoing=True
    )
    assert not again.created and again.message == sent
    assert Activity.objects.count() == 1


def test_a_private_mailbox_sends_private_mail(tenant_a, smtp_sink, customer):
    own_server(tenant_a.rep, smtp_sink, is_private=True)
    sent = send_email(
        by=tenant_a.rep.user, to=customer.email, subject="Salary", body="…", contact=customer
    )
    assert sent.is_private and sent.hidden_from(tenant_a.rep2.user)
    assert not sent.hidden_from(tenant_a.rep.user)


# Failures keep nothing


def _nothing_kept():
    assert not EmailMessage.objects.exists()
    assert not Activity.objects.exists()
    assert not AuditEvent.objects.filter(verb="email.sent").exists()


def test_a_server_that_is_down_says_so_and_nothing_is_logged(tenant_a, smtp_sink, customer):
    mailbox = own_server(tenant_a.rep, smtp_sink)
    Mailbox.objects.filter(pk=mailbox.pk).update(smtp_port=free_port())
    with pytest.raises(ValidationError, match=r"Not sent: Could not connect to 127\.0\.0\.1"):
        send_email(
            by=tenant_a.rep.user, to=customer.email, subject="Hi", body="Hi", contact=customer
        )
    _nothing_kept()


def test_the_workspace_server_down_says_so_too(tenant_a, workspace_server, settings, customer):
    settings.EMAIL_PORT = free_port()
    with pytest.raises(ValidationError, match="Not sent: Could not connect"):
        send_email(
            by=tenant_a.rep.user, to=customer.email, subject="Hi", body="Hi", contact=customer
        )
    _nothing_kept()


def test_a_refused_password_says_so(tenant_a, smtp_sink, customer):
    own_server(tenant_a.rep, smtp_sink)
    smtp_sink.login = ("someone-else", "secret")
    with pytest.raises(ValidationError, match="refused the user name or password"):
        send_email(
            by=tenant_a.rep.user, to=customer.email, subject="Hi", body="Hi", contact=customer
        )
    assert smtp_sink.received == []
    _nothing_kept()


def test_refused_recipients_are_named(tenant_a, smtp_sink, customer):
    own_server(tenant_a.rep, smtp_sink)
    smtp_sink.refuse = {"gone@ruiz.test", "ana.ruiz@ruiz.test"}
    with pytest.raises(ValidationError, match="refused every recipient: .*gone@ruiz.test.*550"):
        send_email(
            by=tenant_a.rep.user,
            to=f"{customer.email}, gone@ruiz.test",
            subject="Hi",
            body="Hi",
            contact=customer,
        )
    _nothing_kept()
    smtp_sink.refuse = {"gone@ruiz.test"}

    sent = send_email(
        by=tenant_a.rep.user,
        to=f"{customer.email}, gone@ruiz.test",
        subject="Hi",
        body="Hi",
        contact=customer,
    )

    assert smtp_sink.received[0].recipients == ["ana.ruiz@ruiz.test"]
    assert sent.notes == ["Not delivered to gone@ruiz.test: 550 5.1.1 No such user here."]


@pytest.mark.parametrize(
    "fields,field,words",
    [
        ({"to": "ana@ruiz, nobody"}, "to", "“ana@ruiz” is not an e-mail address"),
        ({"to": ""}, "to", "Add at least one recipient."),
        ({"to": "a@ruiz.test", "cc": "bad@"}, "cc", "“bad@” is not an e-mail address"),
        ({"subject": "  "}, "subject", "Give the e-mail a subject."),
        ({"body": "{{ contact.birthday }}"}, "body", "Unknown merge field {{ contact.birthday }}"),
    ],
)
def test_bad_input_is_refused_beside_its_field_before_anything_is_sent(
    tenant_a, smtp_sink, customer, fields, field, words
):
    own_server(tenant_a.rep, smtp_sink)
    data = {"to": customer.email, "subject": "Hi", "body": "Hi", **fields}
    with pytest.raises(ValidationError) as refused:
        send_email(by=tenant_a.rep.user, contact=customer, **data)
    assert any(words in text for text in refused.value.message_dict[field])
    assert smtp_sink.received == []
    _nothing_kept()


# Merge fields


def test_merge_fields_fill_in_from_plain_values(tenant_a, customer):
    deal = factories.DealFactory(name="Fleet", amount=12500, organization=customer.organization)
    template = EmailTemplate(
        subject="{{deal.name}} for {{ organization.name }}",
        body="Hi {{ contact.first_name }} {{ contact.last_name }} ({{ contact.email }}),\n"
        "{{ deal.amount }}. {{ sender.first_name }} / {{ sender.email }}",
    )
    merged = render_template(template, contact=customer, deal=deal, sender=tenant_a.rep.user)
    assert merged.subject == "Fleet for Ruiz Hermanos"
    assert merged.body == ("Hi Ana Ruiz (Ana.Ruiz@ruiz.test),\n€12,500. Rep / rep@acme.test")


def test_a_value_is_never_read_as_a_merge_field(tenant_a):
    sly = factories.ContactFactory(first_name="{{ sender.email }}", organization=None)
    text = render_template(
        "Hi {{ contact.first_name }}", contact=sly, deal=None, sender=tenant_a.rep.user
    )
    assert text == "Hi {{ sender.email }}"


@pytest.mark.parametrize(
    "placeholder",
    [
        "{{ contact.organization.tenant.slug }}",
        "{{ contact.__class__ }}",
        "{{ contact.first_name.upper }}",
        "{{ sender.password }}",
        "{{ contact.first_name|safe }}",
        "{{ settings.SECRET_KEY }}",
        "{{ }}",
    ],
)
def test_anything_but_a_listed_field_is_refused_by_name(tenant_a, customer, placeholder):
    with pytest.raises(ValidationError) as refused:
        render_template(
            f"Hi {placeholder} and {{{{ contact.first_name }}}}",
            contact=customer,
            deal=None,
            sender=tenant_a.rep.user,
        )
    assert f"Unknown merge field {placeholder}." in refused.value.messages[0]


def test_a_field_with_no_value_is_refused_unless_it_has_a_default(tenant_a):
    loner = factories.ContactFactory(first_name="Bo", last_name="", organization=None)
    with pytest.raises(ValidationError, match=r"\{\{ deal.name \}\}, \{\{ contact.last_name \}\}"):
        render_template(
            "{{ deal.name }} {{ contact.last_name }}",
            contact=loner,
            deal=None,
            sender=tenant_a.rep.user,
        )
    text = render_template(
        '{{ organization.name|default:"your team" }}{{ contact.last_name|default:"" }}',
        contact=loner,
        deal=None,
        sender=tenant_a.rep.user,
    )
    assert text == "your team"


# Pages


def _compose_url(org, contact) -> str:
    return org.url(f"mail/compose/contact/{contact.pk}/")


@pytest.fixture
def people(org_a):
    with org_a.activate():
        org = factories.OrganizationFactory(name="Ruiz Hermanos")
        ana = factories.ContactFactory(
            first_name="Ana", last_name="Ruiz", email="ana@ruiz.test", organization=org
        )
        deal = factories.DealFactory(
            primary_contact=ana, organization=org, owner=org_a.rep.user, name="Fleet"
        )
        template = EmailTemplate.objects.create(
            name="First reply",
            subject="Thanks, {{ contact.first_name }}",
            body="Hi {{ contact.first_name }}, thanks for writing.",
        )
    return ana, deal, template


def test_the_compose_page_fills_the_address_and_a_template(org_a, people):
    ana, _deal, template = people
    client = org_a.client_for(org_a.rep)

    page = client.get(_compose_url(org_a, ana))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="ana@ruiz.test"' in html and "First reply" in html

    picked = client.get(_compose_url(org_a, ana), {"template": template.pk}).content.decode()
    assert 'value="Thanks, {{ contact.first_name }}"' in picked

    # Picking a template after typing keeps the addresses typed.
    kept = client.post(
        _compose_url(org_a, ana),
        {"action": "template", "template": template.pk, "to": "b@ruiz.test", "cc": "c@x.test"},
    )
    assert kept.status_code == 200
    html = kept.content.decode()
    assert 'value="b@ruiz.test"' in html and 'value="c@x.test"' in html
    assert "thanks for writing" in html


def test_preview_shows_the_merged_text_without_sending(org_a, people, workspace_server):
    ana, _deal, _template = people
    response = org_a.client_for(org_a.rep).post(
        _compose_url(org_a, ana),
        {"action": "preview", "to": ana.email, "subject": "Hi {{ contact.first_name }}",
         "body": "For {{ organization.name }}"},
    )  # fmt: skip
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hi Ana" in html and "For Ruiz Hermanos" in html
    # Only the Send button sends; a form sent without it (Enter in a field) previews.
    unsure = org_a.client_for(org_a.rep).post(
        _compose_url(org_a, ana), {"to": ana.email, "subject": "Hi", "body": "Hello"}
    )
    assert unsure.status_code == 200 and "Preview, with the merge fields" in unsure.content.decode()
    assert workspace_server.received == []


def test_sending_from_the_page_logs_it_and_the_contact_page_shows_it(
    org_a, people, workspace_server
):
    ana, _deal, _template = people
    client = org_a.client_for(org_a.rep)
    response = client.post(
        _compose_url(org_a, ana),
        {"action": "send", "to": ana.email, "subject": "Hi {{ contact.first_name }}",
         "body": "Hello"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == org_a.url(f"contacts/{ana.pk}/")
    assert workspace_server.received[0].message["Subject"] == "Hi Ana"
    page = client.get(response["Location"]).content.decode()
    assert "E-mail sent to ana@ruiz.test" in page
    assert "E-mail Ana" in page and "1 conversation on the timeline" in page
    assert "Hi Ana" in page  # the timeline entry
    assert org_a.url(f"mail/compose/contact/{ana.pk}/") in page


@pytest.mark.parametrize(
    "data,words",
    [
        ({"to": "ana@ruiz, x"}, "“ana@ruiz” is not an e-mail address"),
        ({"body": "Hi {{ contact.nickname }}"}, "Unknown merge field {{ contact.nickname }}"),
        ({"port": "down"}, "Not sent: Could not connect to 127.0.0.1"),
    ],
)
def test_a_refused_send_comes_back_422_with_what_was_typed(
    org_a, people, workspace_server, settings, data, words
):
    ana, _deal, _template = people
    if data.pop("port", None):
        settings.EMAIL_PORT = free_port()
    typed = {"action": "send", "to": ana.email, "cc": "boss@ruiz.test",
             "subject": "My subject", "body": "A long text I typed.", **data}  # fmt: skip
    response = org_a.client_for(org_a.rep).post(_compose_url(org_a, ana), typed)
    assert response.status_code == 422
    html = response.content.decode()
    assert words in html
    assert 'value="My subject"' in html and "boss@ruiz.test" in html
    assert typed["body"].replace("{", "") in html.replace("{", "")
    with org_a.activate():
        _nothing_kept()


def test_the_deal_page_offers_compose_to_whoever_may_log_on_the_deal(
    org_a, people, workspace_server
):
    ana, deal, _template = people
    owner, other = org_a.client_for(org_a.rep), org_a.client_for(org_a.rep2)
    url = org_a.url(f"mail/compose/deal/{deal.pk}/")

    assert other.get(url).status_code == 403
    page = owner.get(url)
    assert page.status_code == 200 and 'value="ana@ruiz.test"' in page.content.decode()
    sent = owner.post(
        url, {"action": "send", "to": ana.email, "subject": "About {{ deal.name }}", "body": "Hi"}
    )
    assert sent.status_code == 302 and sent["Location"] == org_a.url(f"deals/{deal.pk}/")
    html = owner.get(sent["Location"]).content.decode()
    assert "1 conversation on the timeline" in html and url in html
    assert "About Fleet" in html
    assert url not in other.get(sent["Location"]).content.decode()


def test_the_compose_page_runs_the_same_queries_for_few_and_many_templates(
    org_a, people, django_assert_max_num_queries
):
    ana, _deal, _template = people
    client = org_a.client_for(org_a.rep)
    url = _compose_url(org_a, ana)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    with org_a.activate():
        for i in range(30):
            EmailTemplate.objects.create(name=f"Template {i}", subject="Hi", body="Hi")
        factories.ContactFactory.create_batch(10, organization=ana.organization)
    with django_assert_max_num_queries(len(few)):
        assert client.get(url).status_code == 200
    assert len(few) <= 15


# Templates


def test_managers_write_templates_and_everyone_reads_them(org_a):
    manager, rep = org_a.client_for(org_a.manager), org_a.client_for(org_a.rep)
    url = org_a.url("mail/templates/")
    data = {"name": "Follow-up", "subject": "Next steps", "body": "Hi {{ contact.first_name }}"}

    assert rep.post(url, data).status_code == 403
    created = manager.post(url, data)
    assert created.status_code == 302
    with org_a.activate():
        template = EmailTemplate.objects.get()
        assert template.created_by == org_a.manager.user
        assert AuditEvent.objects.filter(verb="email_template.created").exists()
    listed = rep.get(url)
    assert listed.status_code == 200 and "Follow-up" in listed.content.decode()
    assert 'name="subject"' not in listed.content.decode()

    edit = org_a.url(f"mail/templates/{template.pk}/")
    assert rep.get(edit).status_code == 403
    assert rep.post(edit, {**data, "name": "Mine"}).status_code == 403
    assert manager.post(edit, {**data, "subject": "Next"}).status_code == 302
    delete = org_a.url(f"mail/templates/{template.pk}/delete/")
    assert rep.post(delete).status_code == 403
    assert org_a.client_for(org_a.admin).post(delete).status_code == 302
    with org_a.activate():
        assert not EmailTemplate.objects.exists()
        verbs = set(AuditEvent.objects.values_list("verb", flat=True))
        assert {"email_template.updated", "email_template.deleted"} <= verbs


@pytest.mark.parametrize(
    "data,words",
    [
        ({"body": "Hi {{ contact.tenant }}"}, "Unknown merge field {{ contact.tenant }}"),
        ({"name": "first REPLY"}, "There is a template called “first REPLY” already."),
        ({"subject": ""}, "This field is required."),
    ],
)
def test_a_refused_template_comes_back_422_with_the_reason(org_a, people, data, words):
    typed = {"name": "Other", "subject": "Hi", "body": "Hello", **data}
    response = org_a.client_for(org_a.manager).post(org_a.url("mail/templates/"), typed)
    assert response.status_code == 422
    assert words in response.content.decode()
    with org_a.activate():
        assert EmailTemplate.objects.count() == 1
