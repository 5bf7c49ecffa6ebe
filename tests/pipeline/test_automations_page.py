"""Settings → Automations: admins change, managers read, reps stay out; what each
automation produced lately is listed."""

from datetime import timedelta

import pytest

from contacts.models import AssignmentRule
from crm.models import AutomationSettings
from pipeline.models import CadenceStep, PipelineSettings, RenewalOffset
from pipeline.services.stale import send_stale_alerts
from tests import factories
from tests.automation import at, sales_of

URL = "settings/automations/"
SETTINGS = {
    "reminder_lead_minutes": "30",
    "digest_hour": "7",
    "rotting_days": "21",
    "renewal_offsets": "120, 60, 14",
    "copy_managers_from": "60",
}


@pytest.fixture
def sales(org_a):
    return sales_of(org_a)


def test_reps_cannot_see_it_managers_read_it_admins_change_it(org_a, sales):
    assert org_a.client_for(org_a.rep).get(org_a.url(URL)).status_code == 403
    manager = org_a.client_for(org_a.manager)
    page = manager.get(org_a.url(URL))
    assert page.status_code == 200
    assert "only admins change them" in page.content.decode()
    assert "Save settings" not in page.content.decode()
    assert manager.post(org_a.url(URL), SETTINGS).status_code == 403
    admin_page = org_a.client_for(org_a.admin).get(org_a.url(URL)).content.decode()
    assert "Save settings" in admin_page and "Task reminders" in admin_page


def test_an_admin_saves_the_settings(org_a, sales):
    response = org_a.client_for(org_a.admin).post(org_a.url(URL), SETTINGS)
    assert response.status_code == 302
    with org_a.activate():
        settings = AutomationSettings.objects.get()
        assert (settings.reminder_lead_minutes, settings.digest_hour) == (30, 7)
        assert PipelineSettings.objects.get().rotting_days == 21
        assert list(RenewalOffset.objects.values_list("days", "copy_managers")) == [
            (120, False),
            (60, True),
            (14, True),
        ]
    page = org_a.client_for(org_a.admin).get(org_a.url(URL)).content.decode()
    assert 'value="120, 60, 14"' in page


def test_wrong_settings_come_back_with_the_reason(org_a, sales):
    bad = {**SETTINGS, "renewal_offsets": "90, soon", "reminder_lead_minutes": "5000"}
    response = org_a.client_for(org_a.admin).post(org_a.url(URL), bad)
    assert response.status_code == 422
    page = response.content.decode()
    assert "“soon” is not a number of days" in page
    assert "less than or equal to 1440" in page
    with org_a.activate():
        assert not AutomationSettings.objects.exists()


def test_an_admin_adds_and_removes_a_cadence_step(org_a, org_b, sales):
    client = org_a.client_for(org_a.admin)
    step = {"stage": sales["Proposal"].pk, "offset_days": "2", "title": "Check it arrived"}
    assert client.post(org_a.url(URL + "cadences/new/"), step).status_code == 302
    with org_a.activate():
        added = CadenceStep.objects.get()
    assert (added.stage_id, added.offset_days, added.title) == (
        sales["Proposal"].pk,
        2,
        step["title"],
    )
    assert "+2 d: Check it arrived" in client.get(org_a.url(URL)).content.decode()
    assert client.get(org_a.url(URL + f"cadences/{added.pk}/delete/")).status_code == 405
    assert client.post(org_a.url(URL + f"cadences/{added.pk}/delete/")).status_code == 302
    with org_a.activate():
        assert not CadenceStep.objects.exists()
    foreign = {**step, "stage": sales_of(org_b)["Proposal"].pk}
    response = client.post(org_a.url(URL + "cadences/new/"), foreign)
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()


def test_an_admin_writes_edits_and_removes_an_assignment_rule(org_a, org_b, sales):
    client = org_a.client_for(org_a.admin)
    form = client.get(org_a.url(URL + "rules/new/")).content.decode()
    assert 'name="members"' in form and "Rep Acme" in form and "Rep Globex" not in form
    data = {
        "name": "Inbound DACH",
        "applies_to": "both",
        "source": "website",
        "territory": "Germany",
        "members": [org_a.rep.user.pk, org_a.rep2.user.pk],
        "position": "1",
        "is_active": "on",
    }
    assert client.post(org_a.url(URL + "rules/new/"), data).status_code == 302
    with org_a.activate():
        rule = AssignmentRule.objects.get()
        assert [m.user_id for m in rule.members.all()] == [org_a.rep.user.pk, org_a.rep2.user.pk]
    edited = {**data, "members": [org_a.rep2.user.pk], "territory": "Austria"}
    assert client.post(org_a.url(URL + f"rules/{rule.pk}/"), edited).status_code == 302
    with org_a.activate():
        rule.refresh_from_db()
        assert rule.territory == "Austria"
        assert [m.user_id for m in rule.members.all()] == [org_a.rep2.user.pk]
    outsider = {**data, "name": "Other", "members": [org_b.rep.user.pk]}
    assert client.post(org_a.url(URL + "rules/new/"), outsider).status_code == 422
    assert client.post(org_a.url(URL + f"rules/{rule.pk}/delete/")).status_code == 302
    with org_a.activate():
        assert not AssignmentRule.objects.exists()


def test_the_page_shows_what_each_automation_produced(
    org_a, sales, clock, send, django_assert_max_num_queries
):
    from pipeline import services

    t0 = clock(at(2026, 6, 1, 9, 0))
    with org_a.activate():
        services.create_deal(
            by=org_a.rep.user,
            name="Quiet deal",
            stage=sales["New lead"],
            organization=factories.OrganizationFactory(),
        )
    clock(t0 + timedelta(days=8))
    send(org_a, send_stale_alerts, now=t0 + timedelta(days=8))
    client = org_a.client_for(org_a.manager)
    with django_assert_max_num_queries(30):
        page = client.get(org_a.url(URL)).content.decode()
    assert 'data-automation="stale_deal">1<' in page
    assert "Quiet deal: 8 days in New lead (limit 7)" in page
    filtered = client.get(org_a.url(URL + "?show=renewal")).content.decode()
    assert "Quiet deal: 8 days" not in filtered
