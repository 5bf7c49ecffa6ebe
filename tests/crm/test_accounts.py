import re

import pytest
from django.core import mail
from django.test import Client

from crm.models import Membership, Role
from crm.services import deactivate_membership, invite_member
from tests.factories import PASSWORD, MembershipFactory


def _sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_signing_in_with_one_workspace_lands_in_it(client, org_a):
    response = _sign_in(client, "rep@acme.test")
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == "/acme/"
    assert client.get("/acme/").status_code == 200


def test_signing_in_starts_a_new_session(client, org_a):
    client.get("/accounts/login/")
    client.cookies["sessionid"] = "attacker-chosen"
    _sign_in(client, "rep@acme.test")
    assert client.cookies["sessionid"].value != "attacker-chosen"


def test_a_member_of_two_workspaces_picks_one(client, org_a, org_b):
    with org_b.activate():
        MembershipFactory(tenant=org_b.tenant, user=org_a.rep.user, role=Role.MANAGER)
    _sign_in(client, "rep@acme.test")
    assert client.get("/")["Location"] == "/accounts/workspaces/"
    page = client.get("/accounts/workspaces/").content.decode()
    assert "/acme/" in page and "/globex/" in page
    assert client.get("/globex/").status_code == 200


def test_the_picker_hides_deactivated_memberships(client, org_a, org_b):
    with org_b.activate():
        MembershipFactory(tenant=org_b.tenant, user=org_a.rep.user, is_active=False)
    _sign_in(client, "rep@acme.test")
    assert client.get("/")["Location"] == "/acme/"
    assert client.get("/globex/").status_code == 404


def test_a_wrong_password_is_refused_with_a_message(client, org_a):
    response = _sign_in(client, "rep@acme.test", "wrong")
    assert response.status_code == 200
    assert "correct e-mail address and password" in response.content.decode().lower()


def test_repeated_failures_lock_the_account_out(client, org_a, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "rep@acme.test", "wrong")
    response = _sign_in(client, "rep@acme.test")  # even the right password now
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_working_link(client, org_a):
    response = client.post("/accounts/password-reset/", {"email": "rep@acme.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(
        form_url, {"new_password1": "a-new-long-phrase-77", "new_password2": "a-new-long-phrase-77"}
    )
    assert response.status_code == 302
    fresh = Client()
    assert _sign_in(fresh, "rep@acme.test", "a-new-long-phrase-77").status_code == 302


def test_password_reset_is_throttled(client, org_a, settings):
    settings.PASSWORD_RESET_RATE = 2
    for _ in range(2):
        assert (
            client.post("/accounts/password-reset/", {"email": "rep@acme.test"}).status_code == 302
        )
    response = client.post("/accounts/password-reset/", {"email": "rep@acme.test"})
    assert response.status_code == 429
    assert "Too many reset requests" in response.content.decode()
    assert len(mail.outbox) == 2


def test_an_invitation_creates_a_user_who_sets_a_password(
    org_a, django_capture_on_commit_callbacks
):
    with org_a.activate(), django_capture_on_commit_callbacks(execute=True):
        invite_member(
            by=org_a.admin.user,
            email="New.Person@Acme.test",
            role=Role.MANAGER,
            full_name="New Person",
            base_url="http://testserver",
        )
        membership = Membership.objects.get(user__email="new.person@acme.test")
    assert membership.role == Role.MANAGER
    assert not membership.user.has_usable_password()
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    client = Client()
    form_url = client.get(link)["Location"]
    response = client.post(
        form_url, {"new_password1": "sailing-north-2026", "new_password2": "sailing-north-2026"}
    )
    assert response.status_code == 302
    assert client.get("/acme/").status_code == 200


def test_the_invite_page_refuses_an_existing_member_and_keeps_the_input(org_a):
    client = org_a.client_for(org_a.admin)
    response = client.post(
        org_a.url("settings/members/invite/"), {"email": "rep@acme.test", "role": "rep"}
    )
    assert response.status_code == 422
    assert "already a member" in response.content.decode()
    assert 'value="rep@acme.test"' in response.content.decode()
    assert len(mail.outbox) == 0


def test_the_invite_page_refuses_a_bad_address(org_a):
    client = org_a.client_for(org_a.admin)
    response = client.post(
        org_a.url("settings/members/invite/"), {"email": "not-an-email", "role": "rep"}
    )
    assert response.status_code == 422
    assert "Enter a valid email address" in response.content.decode()


def test_deactivating_a_member_ends_their_sessions_at_once(org_a):
    rep_client = org_a.client_for(org_a.rep)
    assert rep_client.get(org_a.url()).status_code == 200
    with org_a.activate():
        deactivate_membership(org_a.rep, by=org_a.admin.user)
    response = rep_client.get(org_a.url())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_deactivating_a_user_ends_their_sessions(org_a):
    rep_client = org_a.client_for(org_a.rep)
    org_a.rep.user.is_active = False
    org_a.rep.user.save()
    assert rep_client.get(org_a.url()).status_code == 302


def test_the_last_admin_cannot_be_removed_or_demoted(org_a):
    client = org_a.client_for(org_a.admin)
    with org_a.activate():
        deactivate_membership(org_a.manager, by=org_a.admin.user)
        second_admin = MembershipFactory(tenant=org_a.tenant, role=Role.ADMIN)
    response = client.post(
        org_a.url(f"settings/members/{org_a.admin.pk}/"), {"action": "save", "role": "rep"}
    )
    assert response.status_code == 302  # another admin remains
    client2 = org_a.client_for(second_admin)
    response = client2.post(
        org_a.url(f"settings/members/{second_admin.pk}/"), {"action": "save", "role": "rep"}
    )
    assert response.status_code == 422
    assert "at least one active admin" in response.content.decode()
    with org_a.activate():
        assert Membership.objects.get(pk=second_admin.pk).role == Role.ADMIN


def test_an_admin_cannot_deactivate_themselves(org_a):
    client = org_a.client_for(org_a.admin)
    response = client.post(
        org_a.url(f"settings/members/{org_a.admin.pk}/"), {"action": "deactivate"}
    )
    assert response.status_code == 422
    with org_a.activate():
        assert Membership.objects.get(pk=org_a.admin.pk).is_active


def test_role_changes_are_audited(org_a):
    client = org_a.client_for(org_a.admin)
    client.post(
        org_a.url(f"settings/members/{org_a.rep.pk}/"), {"action": "save", "role": "manager"}
    )
    with org_a.activate():
        from crm.models import AuditEvent

        event = AuditEvent.objects.get(verb="member.role_changed")
    assert event.changes == {"role": ["rep", "manager"]}
    assert event.actor == org_a.admin.user


@pytest.mark.parametrize("path", ["settings/members/", "settings/members/invite/"])
def test_reps_and_managers_cannot_reach_admin_pages(org_a, path):
    for member in (org_a.rep, org_a.manager):
        assert org_a.client_for(member).get(org_a.url(path)).status_code == 403


def test_managers_read_workspace_settings_but_only_admins_change_them(org_a):
    data = {"name": "Acme Renamed", "time_zone": "America/New_York", "currency": "usd"}
    manager = org_a.client_for(org_a.manager)
    assert manager.get(org_a.url("settings/workspace/")).status_code == 200
    assert manager.post(org_a.url("settings/workspace/"), data).status_code == 403
    assert org_a.client_for(org_a.rep).get(org_a.url("settings/workspace/")).status_code == 403
    assert (
        org_a.client_for(org_a.admin).post(org_a.url("settings/workspace/"), data).status_code
        == 302
    )
    org_a.tenant.refresh_from_db()
    assert (org_a.tenant.name, org_a.tenant.time_zone, org_a.tenant.currency) == (
        "Acme Renamed",
        "America/New_York",
        "USD",
    )


def test_workspace_settings_refuse_an_unknown_time_zone(org_a):
    response = org_a.client_for(org_a.admin).post(
        org_a.url("settings/workspace/"),
        {"name": "Acme", "time_zone": "Mars/Olympus", "currency": "EUR"},
    )
    assert response.status_code == 422
    org_a.tenant.refresh_from_db()
    assert org_a.tenant.time_zone == "Europe/Berlin"


def test_the_switcher_lists_the_members_other_workspaces_only(org_a, org_b, db):
    from tests.factories import TenantFactory

    third = TenantFactory(slug="initech", name="Initech")
    with org_b.activate():
        MembershipFactory(tenant=org_b.tenant, user=org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    html = client.get(org_a.url()).content.decode()
    assert 'href="/globex/"' in html
    assert "/initech/" not in html and third.pk
    assert 'href="/globex/"' not in org_a.client_for(org_a.rep2).get(org_a.url()).content.decode()
