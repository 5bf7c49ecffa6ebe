import threading

import pytest
from django.core import mail
from django.db import connection, transaction

from crm.models import Notification
from crm.notifications import (
    deliver_email,
    grouped,
    notification_key,
    notify,
    save_preferences,
)
from crm.tenancy import tenant_context


def _notify(org, user, key="stale_deal:deal-1:stage-2:limit", **kw):
    return notify(
        recipient=user,
        kind=kw.pop("kind", "stale_deal"),
        key=key,
        title="Deal is stale",
        url="/acme/",
        **kw,
    )


def test_the_key_is_deterministic():
    assert (
        notification_key("renewal", "deal-7", "30d", "2027-01-31")
        == "renewal:deal-7:30d:2027-01-31"
    )
    assert notification_key("task_due", "task-3") == "task_due:task-3"


def test_a_notification_is_created_and_mailed_once_per_key(
    org_a, django_capture_on_commit_callbacks
):
    with org_a.activate(), django_capture_on_commit_callbacks(execute=True):
        first = _notify(org_a, org_a.rep.user)
        again = _notify(org_a, org_a.rep.user)
    assert first is not None and again is None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["rep@acme.test"]
    assert mail.outbox[0].subject == "[Acme] Deal is stale"
    with org_a.activate():
        assert Notification.objects.count() == 1
        assert Notification.objects.get().emailed_at is not None


def test_the_same_key_for_another_recipient_is_another_notification(org_a):
    with org_a.activate():
        assert _notify(org_a, org_a.rep.user) and _notify(org_a, org_a.manager.user)
        assert Notification.objects.count() == 2


def test_delivering_twice_sends_once(org_a, django_capture_on_commit_callbacks):
    with org_a.activate(), django_capture_on_commit_callbacks(execute=False) as callbacks:
        notification = _notify(org_a, org_a.rep.user)
    assert len(callbacks) == 1
    assert deliver_email(notification.pk, tenant_id=org_a.tenant.pk) is True
    assert deliver_email(notification.pk, tenant_id=org_a.tenant.pk) is False
    assert len(mail.outbox) == 1


def test_preferences_choose_the_channels(org_a, django_capture_on_commit_callbacks):
    with org_a.activate(), django_capture_on_commit_callbacks(execute=True):
        save_preferences(org_a.rep.user, {"stale_deal": (True, False), "renewal": (False, False)})
        in_app_only = _notify(org_a, org_a.rep.user)
        nothing = _notify(org_a, org_a.rep.user, key="renewal:deal-1:90d", kind="renewal")
    assert in_app_only is not None and not in_app_only.email_wanted
    assert nothing is None
    assert mail.outbox == []


def test_the_bell_counts_only_my_unread_in_app_notices(org_a, org_b):
    with org_a.activate():
        _notify(org_a, org_a.rep.user)
        _notify(org_a, org_a.rep.user, key="other")
        _notify(org_a, org_a.rep2.user)
        save_preferences(org_a.rep.user, {"renewal": (False, True)})
        _notify(org_a, org_a.rep.user, key="mail-only", kind="renewal")
    with org_b.activate():
        _notify(org_b, org_b.rep.user)
    client = org_a.client_for(org_a.rep)
    bell = client.get(org_a.url("notifications/bell/")).content.decode()
    assert "2 unread" in bell
    page = client.get(org_a.url()).content.decode()
    assert "Notifications: 2 unread" in page


def test_opening_a_notification_marks_it_read_and_follows_its_link(org_a):
    with org_a.activate():
        notification = _notify(org_a, org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    response = client.post(org_a.url(f"notifications/{notification.pk}/open/"))
    assert response.status_code == 302 and response["Location"] == "/acme/"
    with org_a.activate():
        notification.refresh_from_db()
    assert notification.read_at is not None
    assert "unread" not in client.get(org_a.url("notifications/bell/")).content.decode()


def test_nobody_opens_someone_elses_notification(org_a):
    with org_a.activate():
        notification = _notify(org_a, org_a.rep.user)
    response = org_a.client_for(org_a.manager).post(
        org_a.url(f"notifications/{notification.pk}/open/")
    )
    assert response.status_code == 404


def test_an_external_link_is_not_followed(org_a):
    with org_a.activate():
        notification = notify(
            recipient=org_a.rep.user, kind="system", key="x", title="t", url="https://evil.test/"
        )
    response = org_a.client_for(org_a.rep).post(org_a.url(f"notifications/{notification.pk}/open/"))
    assert response["Location"] == "/acme/notifications/"


def test_mark_all_read_and_the_list_page(org_a, django_assert_max_num_queries):
    with org_a.activate():
        for i in range(40):
            _notify(org_a, org_a.rep.user, key=f"k{i}")
    client = org_a.client_for(org_a.rep)
    with django_assert_max_num_queries(15):  # constant: session, tenant, member, bell, page
        response = client.get(org_a.url("notifications/"))
    assert response.content.decode().count("notification-title") == 30
    client.post(org_a.url("notifications/read-all/"))
    assert "unread" not in client.get(org_a.url("notifications/bell/")).content.decode()


def test_the_preferences_page_saves_choices(org_a):
    client = org_a.client_for(org_a.rep)
    response = client.post(org_a.url("notifications/preferences/"), {"stale_deal:in_app": "on"})
    assert response.status_code == 302
    page = client.get(org_a.url("notifications/preferences/")).content.decode()
    assert (
        'name="stale_deal:in_app" id="stale_deal-in-app" aria-label="Stale-deal alerts in Keel" checked'
        in page
    )
    assert (
        'name="stale_deal:email" id="stale_deal-email" aria-label="Stale-deal alerts by e-mail">'
        in page
    )


def test_nobody_is_told_of_their_own_action(org_a, django_capture_on_commit_callbacks):
    with org_a.activate(), django_capture_on_commit_callbacks(execute=True):
        own = _notify(org_a, org_a.rep.user, actor=org_a.rep.user)
        by_someone_else = _notify(org_a, org_a.rep.user, key="other", actor=org_a.manager.user)
        with grouped():
            _notify(org_a, org_a.rep.user, key="held-own", actor=org_a.rep.user)
        assert own is None and by_someone_else is not None
        assert list(Notification.objects.values_list("key", flat=True)) == ["other"]
    assert len(mail.outbox) == 1


def _several(org, user, keys, **kw):
    for key in keys:
        _notify(org, user, key=key, line=f"Deal {key}", digest_url="/acme/deals/?stale=true", **kw)


def test_notices_falling_together_become_one_digest_per_member_and_kind(
    org_a, django_capture_on_commit_callbacks
):
    with org_a.activate(), django_capture_on_commit_callbacks(execute=True), grouped():
        _several(org_a, org_a.rep.user, ["d1", "d2", "d3"])
        _notify(org_a, org_a.rep.user, key="r1", kind="renewal")
        _notify(org_a, org_a.manager.user, key="d1")
    with org_a.activate():
        rep = list(Notification.objects.filter(recipient=org_a.rep.user).order_by("kind"))
        manager = Notification.objects.get(recipient=org_a.manager.user)
    assert [(n.kind, n.title) for n in rep] == [
        ("renewal", "Deal is stale"),
        ("stale_deal", "3 deals went stale"),
    ]
    digest = rep[1]
    assert digest.body == "• Deal d1\n• Deal d2\n• Deal d3"
    assert digest.url == "/acme/deals/?stale=true"
    assert digest.key.startswith(f"stale_deal:user-{org_a.rep.user.pk}:digest:")
    assert all(n.read_at is None and n.emailed_at for n in [*rep, manager])
    assert manager.key == "d1" and manager.url == "/acme/"  # alone: the notice itself
    assert sorted(m.subject for m in mail.outbox) == [
        "[Acme] 3 deals went stale",
        "[Acme] Deal is stale",
        "[Acme] Deal is stale",
    ]


def test_a_rerun_of_grouped_notices_sends_nothing_more(org_a, django_capture_on_commit_callbacks):
    with org_a.activate(), django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            with grouped():
                _several(org_a, org_a.rep.user, ["d1", "d2"])
        assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_digest_names_fifteen_and_counts_the_rest_and_mixed_links_lead_to_the_inbox(org_a):
    with org_a.activate():
        with grouped():
            _several(org_a, org_a.rep.user, [f"d{i:02}" for i in range(20)])
            _notify(org_a, org_a.rep.user, key="elsewhere", digest_url="/acme/other/")
        digest = Notification.objects.get()
    assert digest.title == "21 deals went stale"
    assert digest.body.splitlines()[-1] == "… and 6 more"
    assert digest.url == "/acme/notifications/"


def test_a_held_notice_rolled_back_with_its_savepoint_is_not_sent(org_a):
    with org_a.activate():
        with grouped():
            _several(org_a, org_a.rep.user, ["d1"])
            try:
                with transaction.atomic():
                    _several(org_a, org_a.rep.user, ["d2"])
                    raise RuntimeError("the row failed")
            except RuntimeError:
                pass
        [alone] = Notification.objects.all()
    assert alone.key == "d1" and alone.title == "Deal is stale" and alone.read_at is None


def test_grouped_notices_follow_the_preferences(org_a, django_capture_on_commit_callbacks):
    with org_a.activate(), django_capture_on_commit_callbacks(execute=True):
        save_preferences(org_a.rep.user, {"stale_deal": (False, True)})
        save_preferences(org_a.manager.user, {"stale_deal": (True, False)})
        with grouped():
            _several(org_a, org_a.rep.user, ["d1", "d2"])
            _several(org_a, org_a.manager.user, ["d1"])
    with org_a.activate():
        rep = Notification.objects.get(recipient=org_a.rep.user)
        manager = Notification.objects.get(recipient=org_a.manager.user)
    assert rep.read_at is not None and rep.emailed_at is not None  # mail only
    assert manager.read_at is None and not manager.email_wanted  # bell only
    assert [m.subject for m in mail.outbox] == ["[Acme] 2 deals went stale"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_create_and_mail_one_notification(org_a):
    barrier = threading.Barrier(2)
    results = []

    def worker():
        try:
            with transaction.atomic(), tenant_context(org_a.tenant):
                barrier.wait()
                results.append(_notify(org_a, org_a.rep.user))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len([r for r in results if r is not None]) == 1
    with org_a.activate():
        assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1
