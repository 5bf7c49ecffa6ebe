"""Issue 18's "done when" in a browser: a rep connects the test mailbox, a customer's reply
lands on the contact's and the deal's timelines within one sync, and the conversation
reads as one thread."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mail.services.inbound import inbound_address
from tests import factories
from tests.e2e.conftest import assert_accessible, screenshots, sign_in
from tests.mail.helpers import mailbox_for
from tests.mail.servers import PASSWORD, message
from tests.mail.test_gateway import running_gateway
from tests.mail.test_invitations import ics, invitation_mail
from tests.pipeline.conftest import default_sales

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workspace(org_a, settings, tmp_path, dovecot):
    settings.MEDIA_ROOT = tmp_path
    # "Sync now" queues the sync once the request commits; a worker runs it in production.
    from crm.celery import app

    app.conf.task_always_eager = True
    with org_a.activate():
        sales = default_sales(org_a)
        customer = factories.ContactFactory(
            first_name="Olga", last_name="Nowak", email="olga@nowak.test"
        )
        deal = factories.DealFactory(
            name="Nowak rollout", stage=sales["Qualified"], owner=org_a.rep.user,
            primary_contact=customer, organization=customer.organization,
        )  # fmt: skip
    user = dovecot.new_user()
    yield org_a, customer, deal, user
    app.conf.task_always_eager = False


def test_a_rep_connects_a_mailbox_and_a_customers_reply_lands_on_the_timelines(
    page, workspace, dovecot
):
    org, customer, deal, user = workspace
    rep = org.rep.user.email
    dovecot.append(user, message(sender=rep, to=customer.email, subject="Rollout plan", message_id="plan@acme.test",
                                 date="Mon, 30 Nov 2026 09:00:00 +0000",
                                 body="Olga, the rollout plan is attached."), folder="Sent")  # fmt: skip
    dovecot.append(user, message(sender=f"Olga Nowak <{customer.email}>", to=rep, subject="Re: Rollout plan",
                                 message_id="re-plan@nowak.test", in_reply_to="plan@acme.test",
                                 body="Looks good. Can we start on the 14th?"))  # fmt: skip
    sign_in(page, rep)

    page.get_by_role("button", name=f"Account menu for {org.rep.user}").click()
    page.get_by_role("link", name="Mailbox").click()
    page.get_by_label("E-mail address").fill(rep)
    page.get_by_label("IMAP server").fill("127.0.0.1")
    page.get_by_label("IMAP port").fill(str(dovecot.port))
    page.get_by_label("IMAP security").select_option("none")
    page.get_by_label("Username").fill(user)
    page.get_by_label("App password").fill("wrong password")
    page.get_by_role("button", name="Connect mailbox").click()
    expect(page.get_by_text("refused the user name or password")).to_be_visible()
    page.get_by_label("App password").fill(PASSWORD)
    page.get_by_role("button", name="Connect mailbox").click()
    expect(page.get_by_text("Mailbox connected")).to_be_visible()
    status = page.locator("#mailbox-status")
    expect(status.get_by_text("Connected")).to_be_visible()
    expect(status.get_by_text("Logged on timelines")).to_be_visible()
    assert_accessible(page)
    screenshots(page, "mail-mailbox")

    page.goto(f"/acme/contacts/{customer.pk}/")
    reply = page.get_by_role("link", name="Re: Rollout plan")
    expect(reply).to_be_visible()
    expect(page.get_by_role("link", name="Rollout plan", exact=True)).to_be_visible()
    page.goto(f"/acme/deals/{deal.pk}/")
    expect(page.get_by_role("link", name="Re: Rollout plan")).to_be_visible()
    page.get_by_role("link", name="Re: Rollout plan").click()
    expect(page.get_by_role("heading", name="Rollout plan")).to_be_visible()
    expect(page.get_by_text("2 messages")).to_be_visible()
    expect(page.get_by_text("Can we start on the 14th?")).to_be_visible()
    bodies = page.locator(".conversation .mail-body").all_inner_texts()
    assert bodies == [
        "Olga, the rollout plan is attached.",
        "Looks good. Can we start on the 14th?",
    ]
    expect(page.locator("#toasts .toast")).to_have_count(0)
    assert_accessible(page)
    screenshots(page, "mail-thread")


def test_mail_sent_from_keel_threads_with_the_reply_a_bcc_is_logged_and_an_invitation_is_a_meeting(
    page, workspace, dovecot, smtp_sink, settings
):
    org, customer, deal, user = workspace
    rep = org.rep.user.email
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_sink.host, smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    with org.activate():
        mailbox_for(org.rep, dovecot, user=user)
        address = str(inbound_address(org.tenant))
    sign_in(page, rep)

    # Written on the deal page, sent through the workspace's SMTP server, logged at once.
    page.goto(f"/acme/deals/{deal.pk}/")
    page.get_by_role("link", name="Write e-mail").click()
    page.get_by_label("Subject").fill("Kick-off agenda")
    page.get_by_label("Message").fill("Hi {{ contact.first_name }}, here is the agenda.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Kick-off agenda").first).to_be_visible()
    (sent,) = smtp_sink.received
    assert sent.message.get_content().strip() == "Hi Olga, here is the agenda."
    sent_id = sent.message["Message-ID"].strip("<>")

    # Olga answers; one sync threads her reply with what Keel sent.
    dovecot.append(user, message(sender=customer.email, to=rep, subject="Re: Kick-off agenda",
                                 message_id="re-agenda@nowak.test", in_reply_to=sent_id,
                                 body="Agenda works for us.",
                                 date=format_datetime(timezone.now())))  # fmt: skip
    # An invitation from her arrives as well.
    start = timezone.now() + timedelta(days=3)
    calendar = ics(start=start.strftime("%Y%m%dT%H%M%SZ"), summary="Kick-off meeting",
                   organizer=customer.email, attendees=(rep,), uid="kickoff@nowak.test")  # fmt: skip
    dovecot.append(
        user, invitation_mail(calendar, sender=customer.email, to=rep, message_id="inv@nowak.test")
    )
    page.goto("/acme/mail/mailbox/")
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_text("Sync started")).to_be_visible()

    # A message BCC'd to the workspace's address from another account is logged too.
    bcc = message(sender=rep, to=customer.email, subject="Contract draft", message_id="bcc@acme.test",
                  body="Olga, the contract draft follows tomorrow.")  # fmt: skip
    with (
        running_gateway() as gateway_server,
        smtplib.SMTP("127.0.0.1", gateway_server.port, timeout=10) as smtp,
    ):
        smtp.sendmail(rep, [address], bcc.as_bytes())

    page.goto(f"/acme/contacts/{customer.pk}/")
    expect(page.get_by_role("link", name="Contract draft")).to_be_visible()
    expect(page.locator("#timeline").get_by_text("BCC'd by")).to_be_visible()
    expect(page.get_by_text("sent from Keel by")).to_be_visible()
    expect(page.get_by_text("Kick-off meeting")).to_be_visible()
    expect(page.get_by_text("Upcoming").first).to_be_visible()
    page.get_by_role("link", name="Re: Kick-off agenda").click()
    expect(page.get_by_text("2 messages")).to_be_visible()
    bodies = page.locator(".conversation .mail-body").all_inner_texts()
    assert bodies == ["Hi Olga, here is the agenda.", "Agenda works for us."]
    assert_accessible(page)
    screenshots(page, "mail-sent-thread")
    page.goto(f"/acme/contacts/{customer.pk}/")
    screenshots(page, "mail-contact-timeline")
