"""Issue 18's "done when" in a browser: a rep connects the test mailbox, a customer's reply
lands on the contact's and the deal's timelines within one sync, and the conversation
reads as one thread."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import assert_accessible, screenshots, sign_in
from tests.mail.conftest import dovecot  # noqa: F401 (the mail tests' IMAP server)
from tests.mail.servers import PASSWORD, message
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
