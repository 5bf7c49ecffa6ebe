"""Deal pages: the list, the deal with its stage path, the forms; and who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Activity
from pipeline.models import Deal, DealActivity, DealTask, StageTransition
from tests import factories
from tests.html_forms import form_as_sent
from tests.pipeline.conftest import default_sales, qualified_deal

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sales(org_a):
    with org_a.activate():
        return default_sales(org_a)


def test_the_deal_list_filters_and_runs_bounded_queries(
    org_a, sales, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with org_a.activate():
        qualified_deal(sales, stage=sales["Proposal"], owner=org_a.rep.user, name="Mine first")
    client = org_a.client_for(org_a.rep)
    client.get(org_a.url("deals/"))  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(org_a.url("deals/?owner=me"))
    with org_a.activate():
        for i in range(60):
            qualified_deal(sales, stage=sales["Proposal"], owner=org_a.rep.user, name=f"Mine {i}")
        qualified_deal(sales, stage=sales["Proposal"], owner=org_a.rep2.user, name="Not mine")
    with django_assert_max_num_queries(len(few)):
        response = client.get(org_a.url("deals/?owner=me"))
    html = response.content.decode()
    assert "Mine 1" in html and "Not mine" not in html
    assert "1–50 of 61" in html
    partial = client.get(org_a.url("deals/?q=not+mine"), **HTMX).content.decode()
    assert "Not mine" in partial and "<html" not in partial


def test_the_deal_page_shows_the_time_spent_in_each_stage(org_a, sales):
    with org_a.activate():
        deal = qualified_deal(sales, stage=sales["New lead"], owner=org_a.rep.user)
        start = timezone.now() - timedelta(days=20)
        Deal.objects.filter(pk=deal.pk).update(created_at=start)
        StageTransition.objects.filter(deal=deal).update(at=start)
        StageTransition.objects.create(
            deal=deal, from_stage=sales["New lead"], to_stage=sales["Qualified"],
            at=start + timedelta(days=3), seconds_in_stage=3 * 86400,
        )  # fmt: skip
        StageTransition.objects.create(
            deal=deal, from_stage=sales["Qualified"], to_stage=sales["Discovery"],
            at=start + timedelta(days=15), seconds_in_stage=12 * 86400,
        )  # fmt: skip
        Deal.objects.filter(pk=deal.pk).update(
            stage=sales["Discovery"], stage_entered_at=start + timedelta(days=15)
        )
    html = org_a.client_for(org_a.manager).get(org_a.url(f"deals/{deal.pk}/")).content.decode()
    path = html[html.index('class="stage-path') :][:6000]
    assert "3 d" in path and "12 d" in path
    assert "5 / 21 d" in path  # the current stage, against its limit
    assert 'aria-current="step"' in path
    assert "Amount filled in" in path  # a future stage shows what it asks for


def test_the_deal_timeline_shows_activities_tasks_and_stage_changes(org_a, sales):
    with org_a.activate():
        deal = qualified_deal(sales, stage=sales["Proposal"], owner=org_a.rep.user)
        factories.DealActivityFactory(deal=deal, activity__subject="Pricing call")
    client = org_a.client_for(org_a.rep)
    response = client.post(
        org_a.url(f"deals/{deal.pk}/tasks/new/"),
        {"title": "Send the revised quote", "assignee": org_a.rep.user_id},
        **HTMX,
    )
    assert response.status_code == 200
    html = client.get(org_a.url(f"deals/{deal.pk}/")).content.decode()
    assert "Pricing call" in html and "Send the revised quote" in html
    assert "Deal opened in Proposal" in html


def test_logging_on_the_deal_page_links_the_activity(org_a, sales):
    with org_a.activate():
        deal = qualified_deal(sales, stage=sales["Proposal"], owner=org_a.rep.user)
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"deals/{deal.pk}/log/"),
        {"kind": "meeting", "subject": "Demo", "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
         "outcome": "held", "next_title": "Follow up"},
        **HTMX,
    )  # fmt: skip
    assert response.status_code == 200
    with org_a.activate():
        activity = Activity.objects.get(subject="Demo")
        assert DealActivity.objects.get(activity=activity).deal == deal
        assert DealTask.objects.filter(deal=deal).count() == 1


def test_logging_on_the_deal_page_with_the_forms_defaults_plans_nothing(org_a, sales):
    with org_a.activate():
        deal = qualified_deal(sales, stage=sales["Proposal"], owner=org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    page = client.get(org_a.url(f"deals/{deal.pk}/?log=call"))
    sent = form_as_sent(page.content, action=org_a.url(f"deals/{deal.pk}/log/"))
    assert sent["next_due"] and not sent["next_title"]  # as on contact pages
    assert client.post(org_a.url(f"deals/{deal.pk}/log/"), sent, **HTMX).status_code == 200
    with org_a.activate():
        assert DealActivity.objects.filter(deal=deal, activity__kind="call").count() == 1
        assert not DealTask.objects.filter(deal=deal).exists()
    sent["next_title"] = "Send the revised quote"
    assert client.post(org_a.url(f"deals/{deal.pk}/log/"), sent, **HTMX).status_code == 200
    with org_a.activate():
        task = DealTask.objects.select_related("task").get(deal=deal).task
        assert (task.title, task.due_at is not None) == ("Send the revised quote", True)


def test_create_a_deal_from_the_form(org_a, sales):
    with org_a.activate():
        org = factories.OrganizationFactory(name="Initrode")
    client = org_a.client_for(org_a.rep)
    form = client.get(org_a.url(f"deals/new/?organization={org.pk}")).content.decode()
    assert f'<option value="{org.pk}" selected>' in form
    response = client.post(
        org_a.url("deals/new/"),
        {
            "name": "Initrode pilot",
            "stage": sales["New lead"].pk,
            "organization": org.pk,
            "owner": org_a.rep.user_id,
        },
    )
    assert response.status_code == 302
    with org_a.activate():
        assert Deal.objects.get(name="Initrode pilot").stage == sales["New lead"]


def test_creating_in_a_stage_whose_criteria_are_unmet_says_what_is_missing(org_a, sales):
    with org_a.activate():
        org = factories.OrganizationFactory()
    response = org_a.client_for(org_a.rep).post(
        org_a.url("deals/new/"),
        {
            "name": "Rushed",
            "stage": sales["Proposal"].pk,
            "organization": org.pk,
            "owner": org_a.rep.user_id,
        },
    )
    assert response.status_code == 422
    assert "Amount (EUR) is required to enter Proposal." in response.content.decode()


def test_the_owner_must_be_an_active_member_of_this_tenant(org_a, org_b, sales):
    with org_a.activate():
        org = factories.OrganizationFactory()
    response = org_a.client_for(org_a.rep).post(
        org_a.url("deals/new/"),
        {
            "name": "X",
            "stage": sales["New lead"].pk,
            "organization": org.pk,
            "owner": org_b.rep.user_id,
        },
    )
    assert response.status_code == 422
    with org_a.activate():
        assert not Deal.objects.exists()


def test_editing_in_place_saves_and_refuses_a_stale_version(org_a, sales):
    with org_a.activate():
        deal = qualified_deal(sales, stage=sales["Proposal"], owner=org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    form = client.get(org_a.url(f"deals/{deal.pk}/edit/?inline=1"), **HTMX)
    assert form.status_code == 200 and "<html" not in form.content.decode()
    data = {
        "inline": "1", "version": deal.version, "name": "Renamed", "organization": deal.organization_id,
        "owner": org_a.rep.user_id, "amount": "52000", "expected_close": "2030-06-30",
        "budget": "50000", "authority": "CFO", "need": "N", "timeline": "T",
    }  # fmt: skip
    saved = client.post(org_a.url(f"deals/{deal.pk}/edit/"), data, **HTMX)
    assert saved.status_code == 200 and "Deal saved." in saved.content.decode()
    stale = client.post(org_a.url(f"deals/{deal.pk}/edit/"), {**data, "name": "Other"}, **HTMX)
    assert stale.status_code == 422 and "changed this deal a moment ago" in stale.content.decode()
    with org_a.activate():
        assert Deal.objects.get(pk=deal.pk).name == "Renamed"


def test_reps_edit_only_their_own_deals(org_a, sales):
    with org_a.activate():
        deal = qualified_deal(sales, stage=sales["Proposal"], owner=org_a.rep2.user)
    client = org_a.client_for(org_a.rep)
    assert client.get(org_a.url(f"deals/{deal.pk}/")).status_code == 200
    assert client.get(org_a.url(f"deals/{deal.pk}/edit/")).status_code == 403
    assert client.post(org_a.url(f"deals/{deal.pk}/log/"), {"kind": "call"}).status_code == 403
    assert (
        org_a.client_for(org_a.manager).get(org_a.url(f"deals/{deal.pk}/edit/")).status_code == 200
    )


def test_contact_and_organization_pages_show_the_deals(org_a, sales):
    with org_a.activate():
        contact = factories.ContactFactory()
        deal = qualified_deal(
            sales, stage=sales["Proposal"], primary_contact=contact, name="Big upgrade"
        )
    client = org_a.client_for(org_a.rep)
    for url in (f"contacts/{contact.pk}/", f"organizations/{deal.organization_id}/"):
        html = client.get(org_a.url(url)).content.decode()
        assert "Big upgrade" in html
        assert "Deal opened in Proposal" in html  # the stage change on their timeline


def test_my_day_lists_the_reps_deals_needing_attention(org_a, sales):
    with org_a.activate():
        late = qualified_deal(
            sales, stage=sales["Proposal"], owner=org_a.rep.user, name="Late deal"
        )
        Deal.objects.filter(pk=late.pk).update(dwell_due_at=timezone.now() - timedelta(days=1))
        qualified_deal(sales, stage=sales["Proposal"], owner=org_a.rep.user, name="Fine deal")
    html = org_a.client_for(org_a.rep).get(org_a.url()).content.decode()
    assert "Deals needing attention" in html and "Late deal" in html and "Fine deal" not in html


def test_my_day_puts_what_needs_action_today_first_and_folds_the_next_days(org_a, sales):
    now = timezone.now()
    with org_a.activate():
        late = qualified_deal(
            sales, stage=sales["Proposal"], owner=org_a.rep.user, name="Late deal"
        )
        Deal.objects.filter(pk=late.pk).update(dwell_due_at=now - timedelta(days=1))
        for title, due in [
            ("Overdue one", -timedelta(days=2)),
            ("Due soon", timedelta(minutes=5)),
            ("Later this week", timedelta(days=3)),
        ]:
            factories.TaskFactory(assignee=org_a.rep.user, title=title, due_at=now + due)
    html = org_a.client_for(org_a.rep).get(org_a.url()).content.decode()
    order = [
        "Overdue one",
        "Due soon",
        "Deals needing attention",
        "Late deal",
        "Next 7 days",
        "Later this week",
    ]
    assert [html.index(text) for text in order] == sorted(html.index(text) for text in order)
    folded = html[html.index('<details class="upcoming">') :]
    assert "Later this week" in folded[: folded.index("</details>")]


# Settings


def test_managers_see_the_stage_settings_but_only_admins_change_them(org_a, sales):
    stage = sales["Proposal"]
    manager, admin = org_a.client_for(org_a.manager), org_a.client_for(org_a.admin)
    assert org_a.client_for(org_a.rep).get(org_a.url("settings/pipelines/")).status_code == 403
    assert manager.get(org_a.url(f"settings/stages/{stage.pk}/")).status_code == 200
    data = {"name": "Proposal sent", "probability": 65, "max_dwell_days": 10, "kind": "open"}
    assert manager.post(org_a.url(f"settings/stages/{stage.pk}/"), data).status_code == 403
    assert admin.post(org_a.url(f"settings/stages/{stage.pk}/"), data).status_code == 302
    with org_a.activate():
        stage.refresh_from_db()
        assert (stage.name, stage.probability, stage.max_dwell_days) == ("Proposal sent", 65, 10)


def test_a_stage_form_refuses_a_probability_over_100(org_a, sales):
    stage = sales["Proposal"]
    data = {"name": "Proposal", "probability": 120, "kind": "open"}
    response = org_a.client_for(org_a.admin).post(org_a.url(f"settings/stages/{stage.pk}/"), data)
    assert response.status_code == 422


def test_admins_add_and_remove_criteria(org_a, sales):
    stage = sales["Negotiation"]
    admin = org_a.client_for(org_a.admin)
    response = admin.post(
        org_a.url(f"settings/stages/{stage.pk}/criteria/new/"),
        {
            "when": "exit",
            "kind": "activity",
            "activity_kind": "email",
            "activity_scope": "ever",
            "min_count": 2,
        },
    )
    assert response.status_code == 302
    with org_a.activate():
        criterion = stage.criteria.get()
        assert criterion.describe() == "At least 2 e-mails logged on the deal"
    assert admin.post(org_a.url(f"settings/criteria/{criterion.pk}/delete/")).status_code == 302
    with org_a.activate():
        assert not stage.criteria.exists()


def test_removing_a_stage_with_deals_asks_where_they_go(org_a, sales):
    with org_a.activate():
        qualified_deal(sales, stage=sales["Negotiation"])
    admin = org_a.client_for(org_a.admin)
    url = org_a.url(f"settings/stages/{sales['Negotiation'].pk}/delete/")
    assert "Move its deals to" in admin.get(url).content.decode()
    assert admin.post(url, {}).status_code == 422
    assert admin.post(url, {"move_deals_to": sales["Proposal"].pk}).status_code == 302
    with org_a.activate():
        assert Deal.objects.get().stage == sales["Proposal"]


def test_reordering_stages_by_drag_or_by_arrows(org_a, sales):
    admin = org_a.client_for(org_a.admin)
    url = org_a.url(f"settings/pipelines/{sales.pipeline.pk}/stages/order/")
    order = [sales[n].pk for n in ("Qualified", "New lead", "Discovery", "Proposal", "Negotiation")]
    assert admin.post(url, {"stage": order}, **HTMX).status_code == 200
    assert admin.post(url, {"move": f"down:{sales['Proposal'].pk}"}).status_code == 302
    with org_a.activate():
        names = list(sales.pipeline.stages.filter(kind="open").values_list("name", flat=True))
    assert names == ["Qualified", "New lead", "Discovery", "Negotiation", "Proposal"]


def test_lost_reasons_are_edited_by_admins(org_a, sales):
    admin = org_a.client_for(org_a.admin)
    assert admin.post(org_a.url("settings/lost-reasons/"), {"label": "Acquired"}).status_code == 302
    assert admin.post(org_a.url("settings/lost-reasons/"), {"label": "acquired"}).status_code == 422
    manager = org_a.client_for(org_a.manager)
    assert (
        manager.post(org_a.url("settings/lost-reasons/"), {"label": "Other one"}).status_code == 403
    )
