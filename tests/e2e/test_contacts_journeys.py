"""The contacts issue's "done when": a rep finds a contact in a second, sees its history,
logs a call and plans the next action without leaving the page, and is warned before
creating a duplicate."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import Activity, Organization, Task
from tests import factories
from tests.e2e.conftest import assert_accessible, screenshots, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def jane(org_a):
    with org_a.activate():
        acme = factories.OrganizationFactory(
            name="Acme Corp", domain="acme.com", owner=org_a.rep.user
        )
        jane = factories.ContactFactory(
            first_name="Jane",
            last_name="Doe",
            email="jane@acme.com",
            organization=acme,
            owner=org_a.rep.user,
        )
        factories.ActivityFactory(
            contact=jane,
            organization=acme,
            subject="Discovery call",
            logged_by=org_a.rep.user,
            occurred_at=timezone.now() - timedelta(days=3),
        )
        factories.TaskFactory(
            contact=jane,
            title="Send the proposal",
            assignee=org_a.rep.user,
            due_at=timezone.now() - timedelta(hours=2),
        )
        factories.TaskFactory(
            contact=jane,
            title="Confirm the workshop date",
            assignee=org_a.rep.user,
            due_at=timezone.now() + timedelta(minutes=5),
        )
        factories.TaskFactory(
            contact=jane,
            title="Prepare the quarterly review",
            assignee=org_a.rep.user,
            due_at=timezone.now() + timedelta(days=3),
        )
        factories.DealFactory(
            name="Acme rollout",
            organization=acme,
            owner=org_a.rep.user,
            expected_close=timezone.localdate() - timedelta(days=2),
        )
        for i in range(20):
            factories.ContactFactory(owner=org_a.rep2.user, last_name=f"Other{i}")
        return jane


def test_a_rep_finds_a_contact_logs_a_call_and_plans_the_next_action(page, org_a, jane):
    sign_in(page, "rep@acme.test")
    expect(page.get_by_text("Send the proposal", exact=True)).to_be_visible()  # My day: overdue
    # What needs action today first: overdue, today, deals needing attention; then the next
    # days, folded.
    headings = page.locator("main h2").all_inner_texts()
    assert [h.split()[0] for h in headings[:4]] == ["Overdue", "Today", "Deals", "Next"]
    expect(page.get_by_role("link", name="Acme rollout")).to_be_visible()
    expect(page.get_by_text("Prepare the quarterly review", exact=True)).to_be_hidden()
    assert_accessible(page)
    screenshots(page, "my-day")
    page.get_by_text("Next 7 days").click()
    expect(page.get_by_text("Prepare the quarterly review", exact=True)).to_be_visible()
    # One click on My day completes a task, in place.
    page.get_by_role("button", name="Mark “Confirm the workshop date” done").click()
    expect(page.locator(".task-row.is-done", has_text="Confirm the workshop date")).to_be_visible()
    with org_a.activate():
        assert Task.objects.get(title="Confirm the workshop date").done_at is not None
    page.keyboard.press("/")
    page.keyboard.type("jane d")
    page.get_by_role("link", name=re.compile("Jane Doe")).first.click()
    expect(page.get_by_role("heading", name="Jane Doe")).to_be_visible()
    expect(page.locator(".timeline-title", has_text="Discovery call")).to_be_visible()
    assert_accessible(page)
    url = page.url

    # The most frequent thing a rep does: log a call, changing nothing in the form.
    page.locator(".quick-actions").get_by_role("link", name="Log call").click()  # click 1
    expect(page.get_by_label("Subject")).to_have_value("Call with Jane Doe")
    page.get_by_role("button", name="Log call").click()  # click 2
    expect(page.locator("#quick-log").get_by_text("Call logged.")).to_be_visible()
    expect(page.locator("#timeline .timeline-title", has_text="Call with Jane Doe")).to_be_visible()
    with org_a.activate():
        assert Activity.objects.filter(contact=jane, subject="Call with Jane Doe").count() == 1
        assert Task.objects.filter(contact=jane, done_at=None).count() == 2  # nothing planned

    page.locator(".quick-actions").get_by_role("link", name="Log call").click()
    expect(page.get_by_label("Subject")).to_have_value("Call with Jane Doe")
    page.get_by_text("Plan the next action").click()
    page.get_by_role("textbox", name="Next action").fill("Send the contract")
    screenshots(page, "contact-quick-log")
    page.get_by_role("button", name="Log call").click()
    expect(
        page.locator("#quick-log").get_by_text("Call logged, next action planned.")
    ).to_be_visible()
    expect(page.locator("#timeline .timeline-title", has_text="Call with Jane Doe")).to_have_count(
        2
    )
    expect(page.locator("#next-actions .task-title", has_text="Send the contract")).to_be_visible()
    assert page.url == url  # never left the page
    with org_a.activate():
        assert Activity.objects.filter(contact=jane, subject="Call with Jane Doe").count() == 2
        assert Task.objects.filter(contact=jane, title="Send the contract", done_at=None).exists()

    page.locator("#next-actions .task-row", has_text="Send the proposal").get_by_role(
        "button", name=re.compile("Mark .* done")
    ).click()
    expect(
        page.locator("#next-actions .task-row.is-done", has_text="Send the proposal")
    ).to_be_visible()
    screenshots(page, "contact-detail")
    assert page.console_errors == []


def test_a_rep_is_warned_before_creating_a_duplicate_organization(page, org_a, jane):
    sign_in(page, "rep@acme.test")
    page.goto("/acme/organizations/new/")
    page.get_by_label("Name").fill("ACME Corporation")
    page.get_by_label("Name").press("Tab")
    warning = page.locator("#duplicates")
    expect(warning.get_by_role("link", name="Acme Corp")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_label("This is a different organization: create it anyway")).to_be_visible()
    with org_a.activate():
        assert Organization.objects.count() == 1
    page.get_by_label("This is a different organization: create it anyway").check()
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("heading", name="ACME Corporation")).to_be_visible()

    page.goto(f"/acme/organizations/{jane.organization_id}/")
    expect(page.get_by_role("heading", name="Acme Corp", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Jane Doe").first).to_be_visible()
    assert_accessible(page)
    screenshots(page, "organization-detail")


def test_lists_filter_as_you_type_and_stack_on_a_phone(page, org_a, jane):
    sign_in(page, "rep@acme.test")
    page.goto("/acme/contacts/")
    assert_accessible(page)
    page.get_by_placeholder(re.compile("Filter by name")).fill("doe")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=doe"))
    page.get_by_role("link", name="Mine").click()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    screenshots(page, "contact-list")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_role("link", name="Jane Doe")).to_be_visible()
    assert page.console_errors == []


def test_a_rep_finds_people_as_european_teams_type_them(page, org_a):
    """Issue 17, item 3: without accents, by part of a phone number, word starts first,
    and deals too, all from the top bar's search."""
    with org_a.activate():
        aurora = factories.OrganizationFactory(name="Aurora Logistik GmbH", domain="aurora.test")
        factories.ContactFactory(
            first_name="Jürgen", last_name="Müller", email="jm@x.test", phone="+48171234567"
        )
        for i in range(6):
            factories.ContactFactory(
                first_name="Laura", last_name=f"Kühn{i}", email=f"l{i}@aurora.test"
            )
        factories.DealFactory(name="Aurora fleet renewal", organization=aurora)
    sign_in(page, "rep@acme.test")
    menu = page.locator("#search-results")

    page.keyboard.press("/")
    page.keyboard.type("muller")
    expect(menu.get_by_role("link", name=re.compile("Jürgen Müller"))).to_be_visible()
    page.get_by_role("searchbox", name="Search").fill("171 23")
    expect(menu.get_by_role("link", name=re.compile("Jürgen Müller"))).to_be_visible()

    page.get_by_role("searchbox", name="Search").fill("aur")
    expect(menu.get_by_role("link", name=re.compile("Aurora fleet renewal"))).to_be_visible()
    groups = menu.locator(".search-group").all_inner_texts()
    assert groups[0].lower() == "organizations" and "Deals" in " ".join(groups).title()
    screenshots(page, "search-dropdown")

    page.get_by_role("searchbox", name="Search").fill("zzqx")
    expect(menu.get_by_text("No contact, organization or deal matches “zzqx”.")).to_be_visible()
    expect(menu.get_by_role("link", name="New deal")).to_be_visible()
    assert_accessible(page)
    assert page.console_errors == []
