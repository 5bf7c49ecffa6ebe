"""Meetings in iCalendar data (text/calendar parts, read with `icalendar`): each VEVENT
as a `Meeting`, its times made aware (an all-day date at the workspace's midnight, a
floating time or an unknown TZID in the workspace's time zone), its organizer and
attendees as `Person`s. Pure reading: `mail.services.invitations` keeps the meetings.

Malformed calendar data never breaks the sync: what cannot be read is skipped, with a
note saying so for the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from icalendar import Calendar

from mail.models import Invitation
from mail.parsing import Person

DESCRIPTION_MAX = 10_000
# Requests and cancellations change Keel's meetings; replies (an attendee's answer),
# counter-proposals and refreshes do not.
REQUESTS = {"", "REQUEST", "PUBLISH"}
CANCEL = "CANCEL"


class Unreadable(ValueError):
    """Calendar data that cannot be read, in words for the message's notes."""


@dataclass(frozen=True)
class Meeting:
    """One VEVENT as Keel keeps it."""

    uid: str
    sequence: int
    dtstamp: datetime | None
    cancelled: bool
    status: str
    summary: str
    location: str
    description: str
    starts_at: datetime | None  # None only in a CANCEL (RFC 5546 lets it leave DTSTART out)
    ends_at: datetime | None
    organizer: Person | None
    attendees: list[Person]

    @property
    def people(self) -> list[Person]:
        return [p for p in [self.organizer, *self.attendees] if p is not None]


def _text(component, name: str, limit: int) -> str:
    value = component.get(name)
    if isinstance(value, list):  # a property given twice: the first counts
        value = value[0] if value else None
    return str(value or "").replace("\x00", "").strip()[:limit]


def _person(value) -> Person | None:
    address = str(value or "").replace("\x00", "").strip()
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:") :]
    address = address.strip().lower()
    if "@" not in address or len(address) > 320:
        return None
    name = str(getattr(value, "params", {}).get("CN", "") or "").replace("\x00", "")
    name = name.strip().strip('"')
    return Person(name=name[:200], address=address)


def _people(value) -> list[Person]:
    values = value if isinstance(value, list) else [value] if value is not None else []
    found: dict[str, Person] = {}
    for item in values:
        person = _person(item)
        if person is not None:
            found.setdefault(person.address, person)
    return list(found.values())


def _moment(value: date | datetime, tz: tzinfo) -> datetime:
    """An aware datetime: an all-day date at the workspace's midnight, a floating time
    (or one whose TZID nothing defines) in the workspace's time zone."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time.min).replace(tzinfo=tz)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _decoded(event, name: str):
    value = event.decoded(name)
    if isinstance(value, list):
        raise Unreadable(f"it gives {name} more than once")
    return value


def _times(event, tz: tzinfo, *, cancelled: bool) -> tuple[datetime | None, datetime | None]:
    if "DTSTART" not in event:
        if cancelled:
            return None, None
        raise Unreadable("it has no start (DTSTART)")
    raw_start = _decoded(event, "DTSTART")
    if not isinstance(raw_start, date):
        raise Unreadable("its start (DTSTART) is not a date")
    start = _moment(raw_start, tz)
    end = None
    if "DTEND" in event:
        end = _moment(_decoded(event, "DTEND"), tz)
    elif "DURATION" in event:
        duration = _decoded(event, "DURATION")
        end = start + duration if isinstance(duration, timedelta) else None
    elif not isinstance(raw_start, datetime):
        end = start + timedelta(days=1)  # RFC 5545: a date alone lasts the day
    if end is not None and end < start:
        end = None
    return start, end


def _stamp(event) -> datetime | None:
    if "DTSTAMP" not in event:
        return None
    value = _decoded(event, "DTSTAMP")
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _status(method: str, status: str) -> str:
    if method == CANCEL or status == "CANCELLED":
        return Invitation.Status.CANCELLED
    if status == "TENTATIVE":
        return Invitation.Status.TENTATIVE
    return Invitation.Status.CONFIRMED


def _meeting(event, *, method: str, tz: tzinfo) -> Meeting:
    uid = _text(event, "UID", 500)
    if not uid:
        raise Unreadable("it has no UID")
    try:
        sequence = int(str(event.get("SEQUENCE", 0)).strip() or 0)
    except ValueError as exc:
        raise Unreadable("its SEQUENCE is not a number") from exc
    status = _status(method, _text(event, "STATUS", 20).upper())
    cancelled = status == Invitation.Status.CANCELLED
    starts_at, ends_at = _times(event, tz, cancelled=cancelled)
    return Meeting(
        uid=uid,
        sequence=max(min(sequence, 2**31 - 1), -(2**31)),
        dtstamp=_stamp(event),
        cancelled=cancelled,
        status=status,
        summary=_text(event, "SUMMARY", 300) or "(no title)",
        location=_text(event, "LOCATION", 300),
        description=_text(event, "DESCRIPTION", DESCRIPTION_MAX),
        starts_at=starts_at,
        ends_at=ends_at,
        organizer=_person(event.get("ORGANIZER")),
        attendees=_people(event.get("ATTENDEE")),
    )


def read_calendar(raw: bytes, *, tz: tzinfo) -> tuple[list[Meeting], list[str]]:
    """The meetings a text/calendar part carries, and notes on what could not be read."""
    try:
        calendar = Calendar.from_ical(raw)
    except Exception:  # noqa: BLE001 - icalendar raises ValueError, KeyError and its own
        return [], ["An invitation in this message could not be read and was skipped."]
    method = _text(calendar, "METHOD", 20).upper()
    if method not in REQUESTS and method != CANCEL:
        return [], []  # an attendee's reply or the like: nothing to change
    meetings, notes = [], []
    for event in calendar.walk("VEVENT"):
        if "RECURRENCE-ID" in event:
            notes.append(
                "A change to one occurrence of a recurring meeting was not applied; "
                "Keel keeps the series' first meeting."
            )
            continue
        try:
            meetings.append(_meeting(event, method=method, tz=tz))
        except Exception as exc:  # noqa: BLE001 - a broken property raises anything
            reason = str(exc) if isinstance(exc, Unreadable) else "a property is malformed"
            notes.append(f"An invitation in this message was skipped: {reason}.")
    return meetings, notes
