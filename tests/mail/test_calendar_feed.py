"""A member's private ICS feed: made on their page (the URL shown once, only its hash
kept), read by a calendar app without a session, holding their open tasks and meetings
and no one else's; a new URL or a revocation ends the old one."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from crm.models import AuditEvent, Membership, Tenant
from mail.models import CalendarFeed, Invitation
from tests import factories

URL = re.compile(r'value="(http://testserver/feeds/calendar/[^"]+\.ics)"')


def _make_feed(org, member) -> str:
    """POST the page's button as `member`; the feed's URL, as the page shows it once."""
    response = org.client_for(member).post(org.url("mail/calendar/new/"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    return URL.search(response.content.decode())[1]


def _read(url: str) -> Calendar:
    response = Client().get(url)  # a calendar app: no session, no cookie
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def _events(calendar: Calendar) -> dict[str, object]:
    return {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}


@pytest.fixture
def work(tenant_a):
    """The rep's tasks and meetings, and some that are not theirs or not for the feed."""
    rep, rep2 = tenant_a.rep.user, tenant_a.rep2.user
    contact = factories.ContactFactory(first_name="Anna", last_name="Müller")
    soon = (timezone.now() + timedelta(days=2)).replace(microsecond=0)  # ICS has seconds
    factories.TaskFactory(title="Send the quote", assignee=rep, due_at=soon, contact=contact)
    factories.TaskFactory(title="Done already", assignee=rep, due_at=soon, done_at=soon)
    factories.TaskFactory(title="Someday", assignee=rep, due_at=None)
    factories.TaskFactory(title="Rep2's task", assignee=rep2, due_at=soon)
    meeting = Invitation.objects.create(
        uid="demo@m.test",
        sequence=2,
        summary="Product demo",
        location="Hamburg",
        starts_at=soon + timedelta(hours=3),
        ends_at=soon + timedelta(hours=4),
        owner=rep,
    )
    Invitation.objects.create(
        uid="other@m.test", summary="Rep2's meeting", starts_at=soon, owner=rep2
    )
    factories.ActivityFactory(
        kind="meeting",
        subject="Lunch with Anna",
        contact=contact,
        logged_by=rep,
        occurred_at=timezone.now() - timedelta(days=1),
        duration_minutes=60,
    )
    factories.ActivityFactory(kind="call", subject="A call", contact=contact, logged_by=rep)
    return {"contact": contact, "meeting": meeting, "soon": soon}


def test_making_the_feed_shows_its_url_once_and_keeps_only_a_hash(tenant_a):
    client = tenant_a.client_for(tenant_a.rep)
    assert client.get(tenant_a.url("mail/calendar/new/")).status_code == 405  # POST only
    assert "No calendar feed yet" in client.get(tenant_a.url("mail/calendar/")).content.decode()

    url = _make_feed(tenant_a, tenant_a.rep)

    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert url.startswith("http://testserver/feeds/calendar/acme/")
    feed = CalendarFeed.objects.get()
    assert feed.user == tenant_a.rep.user
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    event = AuditEvent.objects.get(verb="calendar_feed.created")
    assert event.actor == tenant_a.rep.user and event.target_id == feed.pk
    page = client.get(tenant_a.url("mail/calendar/")).content.decode()
    assert token not in page and "Revoke" in page  # not shown again
    menu = client.get(tenant_a.url("mail/mailbox/")).content.decode()
    assert 'href="/acme/mail/calendar/"' in menu


def test_the_feed_holds_the_members_tasks_and_meetings_and_no_one_elses(
    tenant_a, work, django_assert_max_num_queries
):
    url = _make_feed(tenant_a, tenant_a.rep)
    for _ in range(3):
        factories.TaskFactory(assignee=tenant_a.rep.user, due_at=work["soon"])

    # The same few queries however much it holds: tenant, feed, member, one per kind.
    with django_assert_max_num_queries(11):
        calendar = _read(url)

    assert str(calendar["PRODID"]) == "-//Keel CRM//Calendar feed//EN"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Berlin"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    events = _events(calendar)
    assert {"Task: Send the quote", "Product demo", "Lunch with Anna"} <= set(events)
    assert len(events) == 3 + 3  # the three above and the three tasks made after
    for absent in ("Done already", "Someday", "Rep2's task", "Rep2's meeting", "A call"):
        assert not any(absent in summary for summary in events)

    task = events["Task: Send the quote"]
    assert task.decoded("DTSTART") == work["soon"]
    assert task.decoded("DTSTART").tzinfo.key == "Europe/Berlin"
    assert str(task["TRANSP"]) == "TRANSPARENT"
    assert f"/acme/contacts/{work['contact'].pk}/" in str(task["URL"])
    demo = events["Product demo"]
    assert demo.decoded("DTEND") - demo.decoded("DTSTART") == timedelta(hours=1)
    assert (int(demo["SEQUENCE"]), str(demo["STATUS"]), str(demo["LOCATION"])) == (
        2,
        "CONFIRMED",
        "Hamburg",
    )
    assert events["Lunch with Anna"].decoded("DURATION") == timedelta(minutes=60)
    assert all("DTSTAMP" in e for e in events.values())
    # UIDs are stable: a calendar app updates an event rather than adding it again.
    again = {str(e["UID"]) for e in _read(url).walk("VEVENT")}
    assert again == {str(e["UID"]) for e in events.values()}
    assert len(again) == len(events)

    # A cancelled meeting stays in the feed, cancelled, so calendars drop it.
    Invitation.objects.filter(pk=work["meeting"].pk).update(status="cancelled")
    assert str(_events(_read(url))["Product demo"]["STATUS"]) == "CANCELLED"
    assert CalendarFeed.objects.get().last_used_at is not None


def test_another_members_feed_shows_only_theirs(tenant_a, work):
    calendar = _read(_make_feed(tenant_a, tenant_a.rep2))
    assert set(_events(calendar)) == {"Task: Rep2's task", "Rep2's meeting"}


def test_an_all_day_meeting_is_an_all_day_event(tenant_a):
    midnight = timezone.localtime(timezone.now() + timedelta(days=3), tenant_a.tenant.tz)
    midnight = midnight.replace(hour=0, minute=0, second=0, microsecond=0)
    Invitation.objects.create(
        uid="offsite@m.test",
        summary="Offsite",
        starts_at=midnight,
        ends_at=midnight + timedelta(days=1),
        owner=tenant_a.rep.user,
    )
    event = _events(_read(_make_feed(tenant_a, tenant_a.rep)))["Offsite"]
    assert event.decoded("DTSTART") == midnight.date()
    assert event.decoded("DTEND") == midnight.date() + timedelta(days=1)


def test_a_new_url_ends_the_old_one_and_revoking_ends_the_feed(tenant_a, org_b, work):
    client = tenant_a.client_for(tenant_a.rep)
    old = _make_feed(tenant_a, tenant_a.rep)
    new = _make_feed(tenant_a, tenant_a.rep)
    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200
    assert CalendarFeed.objects.count() == 1

    # The same token under another workspace's slug, or an unknown one: 404.
    assert Client().get(new.replace("/acme/", "/globex/")).status_code == 404
    assert Client().get(new.replace("/acme/", "/nowhere/")).status_code == 404
    assert Client().get(new[:-10] + "xxxxxx.ics").status_code == 404

    assert client.get(tenant_a.url("mail/calendar/revoke/")).status_code == 405
    response = client.post(tenant_a.url("mail/calendar/revoke/"))
    assert response.status_code == 302
    assert Client().get(new).status_code == 404
    assert not CalendarFeed.objects.exists()
    assert AuditEvent.objects.filter(verb="calendar_feed.revoked").count() == 1


def test_a_deactivated_members_feed_answers_404(tenant_a, work):
    url = _make_feed(tenant_a, tenant_a.rep)
    Membership.objects.filter(pk=tenant_a.rep.pk).update(is_active=False)
    assert Client().get(url).status_code == 404


def test_a_feed_url_is_not_a_tenant_page(tenant_a):
    """No login asked: the tenant middleware leaves /feeds/ alone, and no workspace may
    be called "feeds"."""
    response = Client().get("/feeds/calendar/acme/nothing.ics")
    assert response.status_code == 404
    assert "login" not in response.get("Location", "")
    with pytest.raises(ValidationError):
        Tenant(name="Feeds", slug="feeds").clean()
