"""Invitations (text/calendar) in synced mail become meetings on the timeline: matched to
contacts, updated by a later version, cancelled by a CANCEL; a meeting that has started
becomes one `meeting` activity; broken calendar data leaves a note and breaks nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from contacts.models import Activity
from crm.models import Tenant
from mail.models import EmailMessage, Invitation
from mail.parsing import parse
from mail.services.capture import capture
from mail.services.invitations import apply_invitations, log_held_meetings
from mail.services.sync import sync_mailbox
from mail.tasks import scan_held_meetings
from tests import factories
from tests.mail.helpers import mailbox_for
from tests.mail.servers import message

UID = "7kq2m9@calendar.mueller.test"


def _ics_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ics(
    *,
    method: str = "REQUEST",
    uid: str = UID,
    sequence: int = 0,
    start: str,
    end: str = "",
    stamp: str = "20261201T100000Z",
    summary: str = "Product demo",
    organizer: str = "anna.mueller@mueller.test",
    attendees: tuple[str, ...] = (),
    extra: str = "",
) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//Mueller//Calendar//EN",
        "VERSION:2.0",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{stamp}",
        start if ":" in start else f"DTSTART:{start}",
        *([end if ":" in end else f"DTEND:{end}"] if end else []),
        f"SUMMARY:{summary}",
        "LOCATION:Room 4\\, Hamburg office",
        "DESCRIPTION:  Agenda:\\n- pricing\\n- rollout  ",
        f"ORGANIZER;CN=Anna Müller:mailto:{organizer}",
        *[f"ATTENDEE;CN={a.split('@')[0]};PARTSTAT=NEEDS-ACTION:mailto:{a}" for a in attendees],
        *([extra] if extra else []),
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines)


def invitation_mail(calendar: str, *, sender: str, to: str, message_id: str, method="REQUEST"):
    msg = message(sender=sender, to=to, subject="Invitation: Product demo", message_id=message_id)
    msg.add_alternative(calendar, subtype="calendar", params={"method": method})
    return msg


@pytest.fixture
def customer(tenant_a):
    org = factories.OrganizationFactory(name="Müller GmbH")
    return factories.ContactFactory(
        first_name="Anna", email="Anna.Mueller@mueller.test", organization=org
    )


@pytest.fixture
def colleague(tenant_a, customer):
    """Another contact, invited but not among the message's recipients."""
    return factories.ContactFactory(
        first_name="Bernd", email="bernd@mueller.test", organization=customer.organization
    )


def _sync(mailbox):
    return sync_mailbox(mailbox.pk, tenant=mailbox.tenant)


def _soon(days: int = 3, hour: int = 15) -> datetime:
    day = timezone.now().astimezone(UTC) + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def _deliver(dovecot, user, rep, calendar: str, message_id: str, method="REQUEST"):
    dovecot.append(
        user,
        invitation_mail(
            calendar,
            sender="Anna Müller <anna.mueller@mueller.test>",
            to=rep.user.email,
            message_id=message_id,
            method=method,
        ),
    )


def _capture(tenant_a, calendar: str, message_id: str, method="REQUEST") -> EmailMessage:
    """Capture and apply as the sync does, without IMAP (for the finer cases)."""
    parsed = parse(
        invitation_mail(
            calendar,
            sender="anna.mueller@mueller.test",
            to=tenant_a.rep.user.email,
            message_id=message_id,
            method=method,
        ).as_bytes()
    )
    kept = capture(parsed, owner=tenant_a.rep.user, source="imap", outgoing=False)
    apply_invitations(parsed, kept.message)
    return kept.message


def test_an_invitation_in_the_inbox_becomes_a_meeting_on_its_contacts_timelines(
    tenant_a, dovecot, customer, colleague
):
    mailbox, user = mailbox_for(tenant_a.rep, dovecot)
    start = _soon()
    calendar = ics(
        start=_ics_time(start),
        end=_ics_time(start + timedelta(minutes=45)),
        attendees=(tenant_a.rep.user.email, "bernd@mueller.test", "someone@elsewhere.test"),
    )
    _deliver(dovecot, user, tenant_a.rep, calendar, "inv1@mueller.test")

    assert _sync(mailbox).logged == 1

    kept = EmailMessage.objects.get(message_id="inv1@mueller.test")
    invitation = Invitation.objects.get()
    assert (invitation.uid, invitation.sequence, invitation.status) == (UID, 0, "confirmed")
    assert invitation.summary == "Product demo"
    assert invitation.location == "Room 4, Hamburg office"
    assert invitation.description == "Agenda:\n- pricing\n- rollout"
    assert (invitation.starts_at, invitation.ends_at) == (start, start + timedelta(minutes=45))
    assert invitation.organizer == "Anna Müller <anna.mueller@mueller.test>"
    assert [a["address"] for a in invitation.attendees] == [
        tenant_a.rep.user.email,
        "bernd@mueller.test",
        "someone@elsewhere.test",
    ]
    assert invitation.owner == tenant_a.rep.user and invitation.message == kept
    # The organizer and the invited colleague; the member and a stranger are no contacts.
    assert set(invitation.contacts.all()) == {customer, colleague}
    assert kept.calendar_uid == UID and kept.notes == []
    assert not Activity.objects.filter(kind="meeting").exists()  # not held yet

    client = tenant_a.client_for(tenant_a.rep)
    for person in (customer, colleague):
        page = client.get(tenant_a.url(f"contacts/{person.pk}/")).content.decode()
        assert f'id="invitation-{invitation.pk}"' in page
        assert "Product demo" in page and "Upcoming" in page


def test_a_higher_sequence_moves_the_meeting_and_a_late_older_version_does_not(
    tenant_a, dovecot, customer
):
    mailbox, user = mailbox_for(tenant_a.rep, dovecot)
    first, moved = _soon(3), _soon(5, hour=9)
    _deliver(dovecot, user, tenant_a.rep, ics(start=_ics_time(first)), "v0@mueller.test")
    _sync(mailbox)
    _deliver(
        dovecot,
        user,
        tenant_a.rep,
        ics(sequence=1, start=_ics_time(moved), summary="Product demo (moved)"),
        "v1@mueller.test",
    )
    _sync(mailbox)

    invitation = Invitation.objects.get()
    assert (invitation.sequence, invitation.starts_at) == (1, moved)
    assert invitation.summary == "Product demo (moved)"
    assert invitation.message.message_id == "v1@mueller.test"

    # The first version again, delivered late (another folder, a forward): no change.
    _capture(tenant_a, ics(start=_ics_time(first), summary="Old"), "v0-again@mueller.test")
    invitation.refresh_from_db()
    assert (invitation.sequence, invitation.starts_at, invitation.summary) == (
        1,
        moved,
        "Product demo (moved)",
    )
    assert Invitation.objects.count() == 1


def test_the_same_sequence_with_a_later_dtstamp_updates_an_earlier_one_does_not(tenant_a, customer):
    first, later = _soon(3), _soon(4)
    _capture(tenant_a, ics(start=_ics_time(first)), "s1@mueller.test")
    _capture(tenant_a, ics(start=_ics_time(later), stamp="20261202T100000Z"), "s2@mueller.test")
    assert Invitation.objects.get().starts_at == later
    _capture(tenant_a, ics(start=_ics_time(first), stamp="20261201T120000Z"), "s3@mueller.test")
    assert Invitation.objects.get().starts_at == later


def test_a_cancel_cancels_the_meeting_and_the_timeline_says_so(tenant_a, dovecot, customer):
    mailbox, user = mailbox_for(tenant_a.rep, dovecot)
    start = _soon()
    _deliver(dovecot, user, tenant_a.rep, ics(start=_ics_time(start)), "c0@mueller.test")
    _sync(mailbox)
    _deliver(
        dovecot,
        user,
        tenant_a.rep,
        ics(method="CANCEL", sequence=1, start=_ics_time(start), extra="STATUS:CANCELLED"),
        "c1@mueller.test",
        method="CANCEL",
    )
    _sync(mailbox)

    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.sequence, invitation.starts_at) == (
        "cancelled",
        1,
        start,
    )
    page = tenant_a.client_for(tenant_a.rep).get(tenant_a.url(f"contacts/{customer.pk}/"))
    html = page.content.decode()
    assert "Product demo" in html and "Cancelled" in html and "Upcoming" not in html
    # Nothing to log for a cancelled meeting, even once its time has passed.
    assert log_held_meetings(start + timedelta(hours=2)) == 0


def test_a_cancel_without_a_start_cancels_a_known_meeting_and_no_unknown_one(tenant_a, customer):
    _capture(tenant_a, ics(start=_ics_time(_soon())), "k0@mueller.test")
    for uid, message_id in ((UID, "k1@mueller.test"), ("never-seen@m.test", "k2@mueller.test")):
        cancel = ics(method="CANCEL", uid=uid, sequence=1, start="X-NOTHING:1")
        kept = _capture(tenant_a, cancel, message_id, method="CANCEL")
        assert kept.notes == [] and kept.calendar_uid == uid
    assert list(Invitation.objects.values_list("uid", "status")) == [(UID, "cancelled")]


def test_tzid_all_day_and_floating_times_are_read_in_the_right_zone(tenant_a, customer):
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(time_zone="America/New_York")
    tenant_a.tenant.time_zone = "America/New_York"
    _capture(
        tenant_a,
        ics(uid="tz@m.test", start="DTSTART;TZID=Europe/Berlin:20261214T100000"),
        "tz@mueller.test",
    )
    _capture(
        tenant_a,
        ics(uid="day@m.test", start="DTSTART;VALUE=DATE:20261215"),
        "day@mueller.test",
    )
    _capture(tenant_a, ics(uid="float@m.test", start="20261216T090000"), "float@mueller.test")

    berlin, new_york = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
    by_uid = {i.uid: i for i in Invitation.objects.all()}
    assert by_uid["tz@m.test"].starts_at == datetime(2026, 12, 14, 10, tzinfo=berlin)
    day = by_uid["day@m.test"]
    assert day.starts_at == datetime(2026, 12, 15, tzinfo=new_york)
    assert day.ends_at == datetime(2026, 12, 16, tzinfo=new_york)
    assert by_uid["float@m.test"].starts_at == datetime(2026, 12, 16, 9, tzinfo=new_york)


def test_malformed_calendar_data_leaves_a_note_and_the_sync_goes_on(tenant_a, dovecot, customer):
    mailbox, user = mailbox_for(tenant_a.rep, dovecot)
    _deliver(dovecot, user, tenant_a.rep, "BEGIN:VCALENDAR\r\nthis is not\r\n", "bad@m.test")
    no_start = ics(uid="nostart@m.test", start="X-NOTHING:1")
    _deliver(dovecot, user, tenant_a.rep, no_start, "nostart@m.test")
    broken_date = ics(uid="baddate@m.test", start="DTSTART:2026-13-45")
    _deliver(dovecot, user, tenant_a.rep, broken_date, "baddate@m.test")
    _deliver(dovecot, user, tenant_a.rep, ics(start=_ics_time(_soon())), "good@m.test")

    result = _sync(mailbox)

    assert result.logged == 4  # every message kept, with what could be read
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""
    assert list(Invitation.objects.values_list("uid", flat=True)) == [UID]
    notes = dict(EmailMessage.objects.values_list("message_id", "notes"))
    assert notes["bad@m.test"] == [
        "An invitation in this message could not be read and was skipped."
    ]
    assert notes["nostart@m.test"] == [
        "An invitation in this message was skipped: it has no start (DTSTART)."
    ]
    assert notes["baddate@m.test"] == [
        "An invitation in this message was skipped: its start (DTSTART) is not a date."
    ]
    assert notes["good@m.test"] == []
    assert EmailMessage.objects.get(message_id="bad@m.test").calendar_uid == ""


def test_a_held_meeting_becomes_one_activity_once(tenant_a, customer, colleague, clock):
    start = _soon(3)
    _capture(
        tenant_a,
        ics(
            start=_ics_time(start),
            end=_ics_time(start + timedelta(minutes=50)),
            attendees=("bernd@mueller.test",),
        ),
        "held@mueller.test",
    )
    invitation = Invitation.objects.get()

    assert log_held_meetings(clock(start - timedelta(minutes=1))) == 0
    assert log_held_meetings(clock(start + timedelta(minutes=5))) == 1
    assert log_held_meetings(clock(start + timedelta(hours=1))) == 0

    activity = Activity.objects.get(kind="meeting")
    invitation.refresh_from_db()
    assert invitation.activity == activity
    assert (activity.contact, activity.organization) == (customer, customer.organization)
    assert (activity.subject, activity.occurred_at, activity.duration_minutes) == (
        "Product demo",
        start,
        50,
    )
    assert activity.captured and activity.logged_by == tenant_a.rep.user

    # A cancellation after the meeting was held keeps what happened.
    _capture(
        tenant_a,
        ics(method="CANCEL", sequence=1, start=_ics_time(start)),
        "held-cancel@mueller.test",
        method="CANCEL",
    )
    invitation.refresh_from_db()
    assert invitation.status == "cancelled" and invitation.activity == activity
    assert Activity.objects.filter(pk=activity.pk).exists()


def test_the_contact_page_shows_a_held_meeting_once_and_says_held(tenant_a, customer, clock):
    start = _soon(1)
    _capture(tenant_a, ics(start=_ics_time(start)), "page@mueller.test")
    client = tenant_a.client_for(tenant_a.rep)
    clock(start + timedelta(hours=2))
    before = client.get(tenant_a.url(f"contacts/{customer.pk}/")).content.decode()
    assert "Held" in before  # its time has passed, before the hourly run logs it
    assert log_held_meetings(timezone.now()) == 1

    html = client.get(tenant_a.url(f"contacts/{customer.pk}/")).content.decode()
    invitation = Invitation.objects.get()
    assert html.count('id="invitation-') == 1
    # The captured activity is not shown beside its invitation.
    assert f'id="activity-{invitation.activity_id}"' not in html
    assert "Held" in html and "Upcoming" not in html


@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_the_hourly_scan_logs_the_held_meetings_of_each_tenant(org_a, org_b, eager, clock):
    start = _soon(2)
    for org, address in ((org_a, "anna@mueller.test"), (org_b, "gerd@globex-client.test")):
        with org.activate():
            factories.ContactFactory(email=address)
            parsed = parse(
                invitation_mail(
                    ics(uid=f"{org.tenant.slug}@m.test", start=_ics_time(start), organizer=address),
                    sender=address,
                    to=org.rep.user.email,
                    message_id=f"{org.tenant.slug}-inv@m.test",
                ).as_bytes()
            )
            kept = capture(parsed, owner=org.rep.user, source="imap", outgoing=False)
            apply_invitations(parsed, kept.message)

    clock(start - timedelta(minutes=10))
    assert scan_held_meetings() == 0
    clock(start + timedelta(minutes=10))
    assert scan_held_meetings() == 2
    assert scan_held_meetings() == 0
    for org in (org_a, org_b):
        with org.activate():
            assert Activity.objects.filter(kind="meeting", captured=True).count() == 1
            assert Invitation.objects.get().activity_id is not None
