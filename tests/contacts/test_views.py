"""The contacts pages: access, partials, status codes, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Activity, Contact, Organization, SavedView, Task
from tests import factories
from tests.html_forms import form_as_sent

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def jane(org_a):
    with org_a.activate():
        org = factories.OrganizationFactory(name="Acme Corp", owner=org_a.rep.user)
        return factories.ContactFactory(
            first_name="Jane",
            last_name="Doe",
            email="jane@acme.com",
            organization=org,
            owner=org_a.rep.user,
        )


def _count(org, model, **filters):
    with org.activate():
        return model.objects.filter(**filters).count()


# Lists


def test_contact_list_shows_this_tenants_contacts_only(org_a, org_b, jane):
    with org_b.activate():
        factories.ContactFactory(first_name="Globex", last_name="Person")
    response = org_a.client_for(org_a.rep).get(org_a.url("contacts/"))
    assert response.status_code == 200
    assert b"Jane Doe" in response.content
    assert b"Globex Person" not in response.content


def test_contact_list_filters_by_owner_me_and_lifecycle(org_a, jane):
    with org_a.activate():
        factories.ContactFactory(first_name="Other", last_name="Lead", owner=org_a.rep2.user)
        factories.ContactFactory(
            first_name="Cust", last_name="Omer", owner=org_a.rep.user, lifecycle="customer"
        )
    client = org_a.client_for(org_a.rep)
    mine = client.get(org_a.url("contacts/?owner=me")).content
    assert b"Jane Doe" in mine and b"Cust Omer" in mine and b"Other Lead" not in mine
    leads = client.get(org_a.url("contacts/?owner=me&lifecycle=lead")).content
    assert b"Jane Doe" in leads and b"Cust Omer" not in leads


def test_contact_list_filters_by_open_task(org_a, jane):
    with org_a.activate():
        factories.ContactFactory(first_name="No", last_name="Task")
        factories.TaskFactory(contact=jane, assignee=org_a.rep.user)
    content = org_a.client_for(org_a.rep).get(org_a.url("contacts/?open_task=yes")).content
    assert b"Jane Doe" in content and b"No Task" not in content


def test_contact_list_htmx_renders_only_the_results(org_a, jane):
    response = org_a.client_for(org_a.rep).get(org_a.url("contacts/?q=jane"), **HTMX)
    assert response.status_code == 200
    assert b'id="results"' in response.content
    assert b"<html" not in response.content
    assert "HX-Request" in response["Vary"]


def test_organization_list_counts_people(org_a, jane):
    response = org_a.client_for(org_a.rep).get(org_a.url("organizations/?q=acme"))
    assert response.status_code == 200
    assert b"Acme Corp" in response.content


def test_created_between_uses_the_dates_given(org_a, jane):
    with org_a.activate():
        old = factories.ContactFactory(first_name="Old", last_name="Timer")
        Contact.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    today = timezone.localdate()
    url = org_a.url(f"contacts/?created_after={today - timedelta(days=30)}")
    content = org_a.client_for(org_a.rep).get(url).content
    assert b"Jane Doe" in content and b"Old Timer" not in content


# Detail and timeline


def test_contact_page_shows_timeline_newest_first(org_a, jane):
    with org_a.activate():
        factories.ActivityFactory(
            contact=jane, subject="Older call", occurred_at=timezone.now() - timedelta(days=3)
        )
        factories.ActivityFactory(
            contact=jane, subject="Newer call", occurred_at=timezone.now() - timedelta(hours=1)
        )
        factories.TaskFactory(contact=jane, title="Send the proposal", assignee=org_a.rep.user)
    response = org_a.client_for(org_a.rep).get(org_a.url(f"contacts/{jane.pk}/"))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.index("Newer call") < content.index("Older call")
    assert "Send the proposal" in content


def test_timeline_pages_older_entries_for_htmx(org_a, jane):
    with org_a.activate():
        for i in range(30):
            factories.ActivityFactory(
                contact=jane,
                subject=f"Call {i:02}",
                occurred_at=timezone.now() - timedelta(hours=i + 1),
            )
    client = org_a.client_for(org_a.rep)
    first = client.get(org_a.url(f"contacts/{jane.pk}/")).content.decode()
    assert "Call 00" in first and "Call 29" not in first
    assert 'hx-trigger="revealed"' in first
    before = (timezone.now() - timedelta(hours=25, minutes=30)).isoformat()
    older = client.get(org_a.url(f"contacts/{jane.pk}/"), {"before": before}, **HTMX)
    assert older.status_code == 200
    assert b"Call 29" in older.content and b"Call 00" not in older.content
    assert b"<html" not in older.content


def test_organization_page_includes_its_contacts_activities(org_a, jane):
    with org_a.activate():
        factories.ActivityFactory(contact=jane, organization=None, subject="Call with Jane")
    response = org_a.client_for(org_a.rep).get(org_a.url(f"organizations/{jane.organization_id}/"))
    assert response.status_code == 200
    assert b"Call with Jane" in response.content
    assert b"Jane Doe" in response.content


def test_a_merged_contact_redirects_to_its_survivor(org_a, jane):
    with org_a.activate():
        dup = factories.ContactFactory(merged_into=jane, merged_at=timezone.now())
    response = org_a.client_for(org_a.rep).get(org_a.url(f"contacts/{dup.pk}/"))
    assert response.status_code == 302
    assert response["Location"].endswith(f"/contacts/{jane.pk}/")


# Create and edit


def _contact_data(**overrides):
    data = {"first_name": "Ann", "last_name": "Lee", "email": "ann@lee.test", "lifecycle": "lead"}
    data.update(overrides)
    return data


def test_rep_creates_a_contact(org_a):
    response = org_a.client_for(org_a.rep).post(
        org_a.url("contacts/new/"), _contact_data(owner=org_a.rep.user.pk)
    )
    assert response.status_code == 302
    with org_a.activate():
        contact = Contact.objects.get(email="ann@lee.test")
        assert contact.owner == org_a.rep.user and contact.created_by == org_a.rep.user


def test_create_refuses_an_invalid_email_with_a_message(org_a):
    response = org_a.client_for(org_a.rep).post(
        org_a.url("contacts/new/"), _contact_data(email="ann@")
    )
    assert response.status_code == 422
    assert b"Enter a valid email address" in response.content
    assert _count(org_a, Contact) == 0


def test_create_refuses_a_duplicate_email_whatever_its_case_and_links_the_existing(org_a, jane):
    response = org_a.client_for(org_a.rep).post(
        org_a.url("contacts/new/"), _contact_data(email="JANE@Acme.com", confirm_duplicate="on")
    )
    assert response.status_code == 422
    assert b"already has the e-mail address" in response.content
    assert f"/contacts/{jane.pk}/".encode() in response.content
    assert _count(org_a, Contact) == 1


def test_create_refuses_too_long_text(org_a):
    response = org_a.client_for(org_a.rep).post(
        org_a.url("contacts/new/"), _contact_data(job_title="x" * 151)
    )
    assert response.status_code == 422
    assert b"at most 150 characters" in response.content
    assert _count(org_a, Contact) == 0


def test_create_refuses_another_tenants_organization_id(org_a, org_b):
    with org_b.activate():
        foreign = factories.OrganizationFactory()
    response = org_a.client_for(org_a.rep).post(
        org_a.url("contacts/new/"), _contact_data(organization=foreign.pk)
    )
    assert response.status_code == 422
    assert b"does not exist in this workspace" in response.content
    assert _count(org_a, Contact) == 0


def test_create_refuses_another_tenants_member_as_owner(org_a, org_b):
    response = org_a.client_for(org_a.rep).post(
        org_a.url("contacts/new/"), _contact_data(owner=org_b.rep.user.pk)
    )
    assert response.status_code == 422
    assert b"Choose an active member of this workspace" in response.content
    assert _count(org_a, Contact) == 0


def test_create_warns_about_a_similar_organization_before_saving(org_a, jane):
    client = org_a.client_for(org_a.rep)
    data = {"name": "ACME Corporation", "lifecycle": "prospect"}
    response = client.post(org_a.url("organizations/new/"), data)
    assert response.status_code == 422
    assert b"may already exist" in response.content
    assert f"/organizations/{jane.organization_id}/".encode() in response.content
    assert b"create it anyway" in response.content
    assert _count(org_a, Organization) == 1
    response = client.post(org_a.url("organizations/new/"), {**data, "confirm_duplicate": "on"})
    assert response.status_code == 302
    assert _count(org_a, Organization) == 2


def test_duplicate_check_while_typing(org_a, jane):
    client = org_a.client_for(org_a.rep)
    response = client.get(org_a.url("organizations/duplicates/"), {"name": "Acme, Inc."}, **HTMX)
    assert response.status_code == 200 and b"Acme Corp" in response.content
    response = client.get(org_a.url("contacts/duplicates/"), {"email": "Jane@acme.com"}, **HTMX)
    assert b"Jane Doe" in response.content and b"same e-mail address" in response.content


def test_rep_cannot_edit_another_reps_contact(org_a, jane):
    response = org_a.client_for(org_a.rep2).post(
        org_a.url(f"contacts/{jane.pk}/edit/"), _contact_data()
    )
    assert response.status_code == 403
    with org_a.activate():
        assert Contact.objects.get(pk=jane.pk).first_name == "Jane"


def test_owner_and_manager_can_edit(org_a, jane):
    for member in (org_a.rep, org_a.manager):
        response = org_a.client_for(member).post(
            org_a.url(f"contacts/{jane.pk}/edit/"),
            _contact_data(first_name="Janet", email="jane@acme.com", owner=org_a.rep.user.pk),
        )
        assert response.status_code == 302, response.content
    with org_a.activate():
        assert Contact.objects.get(pk=jane.pk).first_name == "Janet"


def test_edit_refuses_an_email_another_contact_has(org_a, jane):
    with org_a.activate():
        factories.ContactFactory(email="taken@acme.com")
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"contacts/{jane.pk}/edit/"),
        _contact_data(email="Taken@acme.com", owner=org_a.rep.user.pk),
    )
    assert response.status_code == 422
    assert b"already has the e-mail address" in response.content


# Quick-log


def test_quick_log_form_arrives_with_htmx_ready_to_save(org_a, jane):
    response = org_a.client_for(org_a.rep2).get(
        org_a.url(f"contacts/{jane.pk}/log/?kind=call"), **HTMX
    )
    assert response.status_code == 200
    assert b"Call with Jane Doe" in response.content
    assert b'value="connected" selected' in response.content
    assert b">Log call</button>" in response.content


@pytest.mark.parametrize("kind", ["call", "email", "meeting", "note"])
@pytest.mark.parametrize("record", ["contacts", "organizations"])
def test_quick_log_with_the_forms_defaults_logs_it_and_plans_nothing(org_a, jane, record, kind):
    pk = jane.pk if record == "contacts" else jane.organization_id
    client = org_a.client_for(org_a.rep)
    page = client.get(org_a.url(f"{record}/{pk}/?log={kind}"))
    sent = form_as_sent(page.content, action=org_a.url(f"{record}/{pk}/log/"))
    assert sent["next_due"] and not sent["next_title"]  # the plan's date comes pre-filled
    response = client.post(org_a.url(f"{record}/{pk}/log/"), sent, **HTMX)
    assert response.status_code == 200
    assert b"logged." in response.content and b"logged, next action" not in response.content
    assert _count(org_a, Activity, kind=kind) == 1 and _count(org_a, Task) == 0


def test_quick_log_plans_the_next_action_due_tomorrow_when_it_gets_a_title(org_a, jane):
    client = org_a.client_for(org_a.rep)
    page = client.get(org_a.url(f"contacts/{jane.pk}/?log=call"))
    sent = form_as_sent(page.content, action=org_a.url(f"contacts/{jane.pk}/log/"))
    response = client.post(
        org_a.url(f"contacts/{jane.pk}/log/"), {**sent, "next_title": "Send pricing"}, **HTMX
    )
    assert b"Call logged, next action planned." in response.content
    with org_a.activate():
        task = Task.objects.get()
    tomorrow = timezone.localdate(timezone.now(), org_a.tenant.tz) + timedelta(days=1)
    assert task.title == "Send pricing"
    assert timezone.localtime(task.due_at, org_a.tenant.tz).date() == tomorrow


def test_record_pages_name_dialling_apart_from_logging(org_a, jane):
    with org_a.activate():
        Contact.objects.filter(pk=jane.pk).update(phone="+442071234567")
    html = org_a.client_for(org_a.rep).get(org_a.url(f"contacts/{jane.pk}/")).content.decode()
    assert 'href="tel:+442071234567"' in html
    assert "> Dial</a>" in html and "> Log call</a>" in html
    assert "> Call</a>" not in html  # one word for two different buttons confused people


def test_quick_log_without_javascript_opens_the_form_on_the_page(org_a, jane):
    client = org_a.client_for(org_a.rep)
    response = client.get(org_a.url(f"contacts/{jane.pk}/log/?kind=meeting"))
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert b"Meeting with Jane Doe" in page.content


def test_quick_log_a_call_and_plan_the_next_action_in_one_go(org_a, jane):
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = org_a.client_for(org_a.rep2).post(
        org_a.url(f"contacts/{jane.pk}/log/"),
        {
            "kind": "call",
            "subject": "Call with Jane Doe",
            "occurred_at": now,
            "outcome": "connected",
            "duration_minutes": "12",
            "next_title": "Send pricing",
            "next_due": (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert b'hx-swap-oob="true"' in response.content
    assert b"Send pricing" in response.content
    with org_a.activate():
        activity = Activity.objects.get()
        assert (activity.contact, activity.logged_by, activity.organization) == (
            jane,
            org_a.rep2.user,
            jane.organization,
        )
        task = Task.objects.get()
        assert (task.title, task.contact, task.assignee) == ("Send pricing", jane, org_a.rep2.user)


def test_quick_log_refuses_bad_input_with_422_and_writes_nothing(org_a, jane):
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"contacts/{jane.pk}/log/"),
        {
            "kind": "call",
            "subject": "x" * 201,
            "occurred_at": "yesterday-ish",
            "next_due": "2030-01-01T10:00",
        },
        **HTMX,
    )
    assert response.status_code == 422
    assert b"at most 200 characters" in response.content
    assert b"Enter a valid date/time" in response.content
    assert _count(org_a, Activity) == 0 and _count(org_a, Task) == 0


def test_add_task_on_an_organization_page(org_a, jane):
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"organizations/{jane.organization_id}/tasks/new/"),
        {"title": "Book a demo", "assignee": org_a.rep2.user.pk},
    )
    assert response.status_code == 302
    with org_a.activate():
        task = Task.objects.get()
        assert (task.organization_id, task.assignee) == (jane.organization_id, org_a.rep2.user)


def test_task_assignee_from_another_tenant_is_refused(org_a, org_b, jane):
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"contacts/{jane.pk}/tasks/new/"), {"title": "x", "assignee": org_b.rep.user.pk}
    )
    assert response.status_code == 422
    assert _count(org_a, Task) == 0


# Tasks


def test_one_click_done_swaps_the_row(org_a, jane):
    with org_a.activate():
        task = factories.TaskFactory(contact=jane, assignee=org_a.rep.user, title="Call back")
    response = org_a.client_for(org_a.rep).post(org_a.url(f"tasks/{task.pk}/done/"), **HTMX)
    assert response.status_code == 200
    assert b"is-done" in response.content and b"<html" not in response.content
    with org_a.activate():
        assert Task.objects.get().done_at is not None


def test_snooze_to_tomorrow(org_a):
    with org_a.activate():
        task = factories.TaskFactory(
            assignee=org_a.rep.user, due_at=timezone.now() - timedelta(hours=2)
        )
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"tasks/{task.pk}/snooze/"), {"until": "tomorrow"}
    )
    assert response.status_code == 302
    with org_a.activate():
        task.refresh_from_db()
        assert timezone.localdate(task.due_at, org_a.tenant.tz) == timezone.localdate(
            timezone.now(), org_a.tenant.tz
        ) + timedelta(days=1)


def test_rep_cannot_complete_another_reps_task(org_a):
    with org_a.activate():
        task = factories.TaskFactory(assignee=org_a.rep2.user)
    response = org_a.client_for(org_a.rep).post(org_a.url(f"tasks/{task.pk}/done/"))
    assert response.status_code == 403
    with org_a.activate():
        assert Task.objects.get().done_at is None


def test_done_only_accepts_post(org_a):
    with org_a.activate():
        task = factories.TaskFactory(assignee=org_a.rep.user)
    assert org_a.client_for(org_a.rep).get(org_a.url(f"tasks/{task.pk}/done/")).status_code == 405


def test_task_pages_render_for_a_record_and_on_their_own(org_a, jane):
    client = org_a.client_for(org_a.rep)
    assert b"A task of your own" in client.get(org_a.url("tasks/new/")).content
    assert b"Jane Doe" in client.get(org_a.url(f"tasks/new/?contact={jane.pk}")).content
    with org_a.activate():
        task = factories.TaskFactory(contact=jane, assignee=org_a.rep.user)
    assert b"Jane Doe" in client.get(org_a.url(f"tasks/{task.pk}/edit/")).content


def test_every_page_renders_for_a_rep(org_a, jane):
    with org_a.activate():
        activity = factories.ActivityFactory(contact=jane, logged_by=org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    for path in (
        "",
        "contacts/",
        "contacts/new/",
        f"contacts/{jane.pk}/",
        f"contacts/{jane.pk}/edit/",
        f"contacts/{jane.pk}/merge/",
        f"contacts/{jane.pk}/?log=note",
        f"contacts/{jane.pk}/?task=1",
        "organizations/",
        "organizations/new/",
        f"organizations/{jane.organization_id}/",
        f"organizations/{jane.organization_id}/edit/",
        f"organizations/{jane.organization_id}/merge/",
        "activities/new/?q=jane",
        f"activities/{activity.pk}/edit/",
        "tasks/new/",
        "search/?q=jane",
    ):
        assert client.get(org_a.url(path)).status_code == 200, path


def test_new_task_from_the_menu(org_a):
    response = org_a.client_for(org_a.rep).post(
        org_a.url("tasks/new/"), {"title": "Prepare QBR", "assignee": org_a.rep.user.pk}
    )
    assert response.status_code == 302
    assert _count(org_a, Task, title="Prepare QBR") == 1


# Activities


def test_only_the_author_or_a_manager_edits_an_activity(org_a, jane):
    with org_a.activate():
        activity = factories.ActivityFactory(contact=jane, logged_by=org_a.rep.user, subject="Old")
    url = org_a.url(f"activities/{activity.pk}/edit/")
    data = {"subject": "New", "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
    assert org_a.client_for(org_a.rep2).post(url, data).status_code == 403
    assert org_a.client_for(org_a.rep).post(url, data).status_code == 302
    with org_a.activate():
        assert Activity.objects.get().subject == "New"


def test_delete_activity(org_a, jane):
    with org_a.activate():
        activity = factories.ActivityFactory(contact=jane, logged_by=org_a.rep.user)
    response = org_a.client_for(org_a.manager).post(org_a.url(f"activities/{activity.pk}/delete/"))
    assert response.status_code == 302
    assert _count(org_a, Activity) == 0


def test_log_activity_from_the_menu_finds_the_record(org_a, jane):
    response = org_a.client_for(org_a.rep).get(
        org_a.url("activities/new/"), {"q": "jane", "kind": "email"}, **HTMX
    )
    assert response.status_code == 200
    assert f"/contacts/{jane.pk}/?log=email".encode() in response.content


# Bulk


def test_manager_assigns_an_owner_in_bulk(org_a):
    with org_a.activate():
        ids = [factories.ContactFactory(owner=org_a.rep.user).pk for _ in range(3)]
    response = org_a.client_for(org_a.manager).post(
        org_a.url("contacts/bulk/"),
        {"ids": ids, "action": "assign_owner", "owner": org_a.rep2.user.pk},
    )
    assert response.status_code == 302
    assert _count(org_a, Contact, owner=org_a.rep2.user) == 3


def test_rep_cannot_bulk_change_records_of_others_and_nothing_changes(org_a):
    with org_a.activate():
        mine = factories.ContactFactory(owner=org_a.rep.user)
        theirs = factories.ContactFactory(owner=org_a.rep2.user)
    response = org_a.client_for(org_a.rep).post(
        org_a.url("contacts/bulk/"),
        {"ids": [mine.pk, theirs.pk], "action": "change_lifecycle", "lifecycle": "customer"},
    )
    assert response.status_code == 403
    assert b"belong to someone else" in response.content
    assert _count(org_a, Contact, lifecycle="customer") == 0


def test_bulk_refuses_another_tenants_ids(org_a, org_b):
    with org_b.activate():
        foreign = factories.OrganizationFactory()
    with org_a.activate():
        mine = factories.OrganizationFactory(owner=org_a.rep.user)
    response = org_a.client_for(org_a.manager).post(
        org_a.url("organizations/bulk/"),
        {"ids": [mine.pk, foreign.pk], "action": "change_lifecycle", "lifecycle": "customer"},
    )
    assert response.status_code == 422
    assert b"do not exist in this workspace" in response.content
    assert _count(org_a, Organization, lifecycle="customer") == 0
    with org_b.activate():
        assert Organization.objects.get().lifecycle == "prospect"


# Merge


def test_merge_page_suggests_likely_duplicates(org_a, jane):
    with org_a.activate():
        twin = factories.ContactFactory(
            first_name="Jane", last_name="Doe", email="jd@other.test", owner=org_a.rep.user
        )
    response = org_a.client_for(org_a.rep).get(org_a.url(f"contacts/{jane.pk}/merge/"))
    assert response.status_code == 200
    assert f"?other={twin.pk}".encode() in response.content
    compare = org_a.client_for(org_a.rep).get(
        org_a.url(f"contacts/{jane.pk}/merge/?other={twin.pk}")
    )
    assert b"jd@other.test" in compare.content


def test_merge_through_the_page_keeps_every_activity(org_a, jane):
    with org_a.activate():
        twin = factories.ContactFactory(owner=org_a.rep.user)
        factories.ActivityFactory(contact=twin)
        factories.ActivityFactory(contact=jane)
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"contacts/{jane.pk}/merge/"), {"other": twin.pk, "keep": "this"}
    )
    assert response.status_code == 302
    assert _count(org_a, Activity, contact=jane) == 2
    with org_a.activate():
        assert Contact.objects.get(pk=twin.pk).merged_into == jane


def test_rep_cannot_merge_into_a_record_of_another_rep(org_a, jane):
    with org_a.activate():
        theirs = factories.ContactFactory(owner=org_a.rep2.user)
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"contacts/{jane.pk}/merge/"), {"other": theirs.pk, "keep": "this"}
    )
    assert response.status_code == 403
    with org_a.activate():
        assert Contact.objects.get(pk=theirs.pk).merged_into is None


def test_merge_refuses_another_tenants_record(org_a, org_b, jane):
    with org_b.activate():
        foreign = factories.ContactFactory()
    response = org_a.client_for(org_a.manager).post(
        org_a.url(f"contacts/{jane.pk}/merge/"), {"other": foreign.pk, "keep": "this"}
    )
    assert response.status_code == 422
    with org_b.activate():
        assert Contact.objects.get(pk=foreign.pk).merged_into is None


# Search


def test_search_as_you_type_ranks_the_best_match_first(org_a, org_b, jane):
    with org_a.activate():
        factories.ContactFactory(first_name="Janet", last_name="Jacobs", email="janet@x.test")
        factories.ContactFactory(first_name="Mary", last_name="Janeway", email="mary@x.test")
    with org_b.activate():
        factories.ContactFactory(first_name="Jane", last_name="Globex", email="jane@globex.test")
    response = org_a.client_for(org_a.rep).get(org_a.url("search/"), {"q": "jane doe"}, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Jane Doe" in content and "Globex" not in content and "<html" not in content
    response = org_a.client_for(org_a.rep).get(org_a.url("search/"), {"q": "jane"}, **HTMX)
    content = response.content.decode()
    assert content.index("Jane Doe") < content.index("Janet Jacobs")


def test_search_finds_organizations_by_domain(org_a, jane):
    with org_a.activate():
        Organization.objects.filter(pk=jane.organization_id).update(domain="acme-industries.com")
    content = org_a.client_for(org_a.rep).get(org_a.url("search/"), {"q": "acme-indus"}).content
    assert b"Acme Corp" in content


def test_search_page_without_javascript(org_a, jane):
    response = org_a.client_for(org_a.rep).get(org_a.url("search/"), {"q": "doe"})
    assert response.status_code == 200
    assert b"<html" in response.content and b"Jane Doe" in response.content


# My day


def test_my_day_lists_my_overdue_and_todays_tasks_only(org_a, jane):
    now = timezone.now()
    with org_a.activate():
        factories.TaskFactory(
            assignee=org_a.rep.user, title="Overdue one", due_at=now - timedelta(days=2)
        )
        factories.TaskFactory(
            assignee=org_a.rep.user, title="Later today", due_at=now + timedelta(minutes=5)
        )
        factories.TaskFactory(assignee=org_a.rep2.user, title="Not mine", due_at=now)
        factories.TaskFactory(assignee=org_a.rep.user, title="Finished", due_at=now, done_at=now)
    response = org_a.client_for(org_a.rep).get(org_a.url())
    assert response.status_code == 200
    content = response.content.decode()
    assert "Overdue one" in content and "Later today" in content
    assert "Not mine" not in content and "Finished" not in content


def test_buttons_whose_words_hide_on_a_phone_keep_a_name(org_a, jane):
    with org_a.activate():
        factories.TaskFactory(assignee=org_a.rep.user, title="Call Jane", due_at=timezone.now())
    content = org_a.client_for(org_a.rep).get(org_a.url()).content.decode()
    assert 'aria-label="Snooze “Call Jane”"' in content  # "Snooze" is hidden below 576 px
    assert 'aria-expanded="false" aria-label="New"' in content  # so is the New menu's word


def test_my_day_shows_recently_touched_records(org_a, jane):
    client = org_a.client_for(org_a.rep)
    client.get(org_a.url(f"contacts/{jane.pk}/"))
    content = client.get(org_a.url()).content.decode()
    assert "Recently touched" in content and "Jane Doe" in content


# Saved views


def test_save_a_view_and_see_it_as_a_tab(org_a):
    client = org_a.client_for(org_a.rep)
    response = client.post(
        org_a.url("views/save/"),
        {"name": "Hot leads", "query": "lifecycle=lead&page=3", "list_name": "contacts"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("contacts/?lifecycle=lead")
    content = client.get(org_a.url("contacts/?lifecycle=lead")).content.decode()
    assert "Hot leads" in content
    assert (
        "Hot leads" not in org_a.client_for(org_a.rep2).get(org_a.url("contacts/")).content.decode()
    )


def test_a_member_cannot_delete_someone_elses_view(org_a):
    with org_a.activate():
        view = factories.SavedViewFactory(user=org_a.rep.user)
    assert (
        org_a.client_for(org_a.rep2).post(org_a.url(f"views/{view.pk}/delete/")).status_code == 404
    )
    assert _count(org_a, SavedView) == 1
    assert (
        org_a.client_for(org_a.rep).post(org_a.url(f"views/{view.pk}/delete/")).status_code == 302
    )
    assert _count(org_a, SavedView) == 0


def test_an_erased_contact_is_gone_from_pages_and_lists(org_a, jane):
    with org_a.activate():
        Contact.objects.filter(pk=jane.pk).update(erased_at=timezone.now())
    client = org_a.client_for(org_a.manager)
    assert client.get(org_a.url(f"contacts/{jane.pk}/")).status_code == 404
    assert b"Jane Doe" not in client.get(org_a.url("contacts/")).content
    assert b"Jane Doe" not in client.get(org_a.url("search/"), {"q": "jane"}).content
