"""Meeting invitations (text/calendar parts, read with `icalendar`) in captured mail.

A REQUEST (or PUBLISH) becomes an `Invitation`, one per UID and workspace, on the
timelines of the contacts among its organizer and attendees. A later version of it (a
higher SEQUENCE, or the same SEQUENCE with a later DTSTAMP) updates it, a CANCEL
cancels it, an older one changes nothing. Meetings become activities only once they
happened (`log_held_meetings`, hourly): an activity records what happened.

Malformed calendar data never breaks the sync: what cannot be read is skipped and the
message's notes say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from icalendar import Calendar

from contacts.models import Activity, Contact
from contacts.selectors import contacts_by_email
from contacts.services.work import log_activity
from crm.tenancy import current_tenant
from mail.models import EmailLink, EmailMessage, Invitation, InvitationContact
from mail.parsing import Parsed, Person
from mail.services.capture import ignored, internal_addresses

PRIVATE_MEETING = "Private meeting"
DESCRIPTION_MAX = 10_000
# Requests and cancellations change Keel's meetings; replies (an attendee's answer),
# counter-proposals and refreshes do not.
REQUESTS = {"", "REQUEST", "PUBLISH"}
CANCEL = "CANCEL"
HELD_BATCH = 500  # meetings logged per run; the next run goes on
_EPOCH = datetime.min.replace(tzinfo=UTC)


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


# Reading


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


# Applying


def _organizer(person: Person | None) -> str:
    if person is None:
        return ""
    if not person.name:
        return person.address
    room = 320 - len(person.address) - 3
    # For people to read (the timeline), not to send to: no RFC 2047 encoding.
    name = person.name.replace("<", "").replace(">", "").strip()[:room]
    return f"{name} <{person.address}>" if room > 0 and name else person.address


def _contacts(meeting: Meeting, message: EmailMessage) -> list[Contact]:
    """The contacts among the meeting's people (members ignored), in their order; if
    none, the contacts the message is linked to, so it shows where the message does."""
    owner = message.owner.email.lower() if message.owner else ""
    internal = internal_addresses() | {owner}
    order: dict[str, int] = {}
    for person in meeting.people:
        if not ignored(person.address, internal=internal):
            order.setdefault(person.address, len(order))
    if order:
        found = sorted(
            contacts_by_email(set(order)),
            key=lambda c: (order.get(c.email.lower(), len(order)), c.pk),
        )
        if found:
            return found
    linked = EmailLink.objects.filter(message=message, contact__isnull=False).order_by("pk")
    return [link.contact for link in linked.select_related("contact")]


def _fields(meeting: Meeting, message: EmailMessage) -> dict:
    return {
        "sequence": meeting.sequence,
        "dtstamp": meeting.dtstamp,
        "status": meeting.status,
        "summary": meeting.summary,
        "location": meeting.location,
        "description": meeting.description,
        "starts_at": meeting.starts_at,
        "ends_at": meeting.ends_at,
        "organizer": _organizer(meeting.organizer),
        "attendees": [p.as_dict() for p in meeting.attendees],
        "message": message,
    }


def _link(invitation: Invitation, contacts: list[Contact]) -> None:
    wanted = {c.pk for c in contacts}
    InvitationContact.objects.filter(invitation=invitation).exclude(contact_id__in=wanted).delete()
    have = set(
        InvitationContact.objects.filter(invitation=invitation).values_list("contact_id", flat=True)
    )
    tenant = current_tenant()
    InvitationContact.objects.bulk_create(
        InvitationContact(tenant=tenant, invitation=invitation, contact=c)
        for c in contacts
        if c.pk not in have
    )


def _newer(meeting: Meeting, invitation: Invitation) -> bool:
    """Whether `meeting` is a later version than what Keel has (RFC 5546: SEQUENCE, then
    DTSTAMP); a cancellation of the same version counts, so it is not lost."""
    mine = (meeting.sequence, meeting.dtstamp or _EPOCH)
    kept = (invitation.sequence, invitation.dtstamp or _EPOCH)
    return mine >= kept if meeting.cancelled else mine > kept


def _apply(meeting: Meeting, message: EmailMessage) -> None:
    existing = Invitation.objects.select_for_update().filter(uid=meeting.uid).first()
    if existing is None and meeting.starts_at is None:
        return  # the cancellation of a meeting Keel never saw, and no time to show it at
    if existing is None:
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    tenant=current_tenant(),
                    uid=meeting.uid,
                    owner=message.owner,
                    **_fields(meeting, message),
                )
                _link(invitation, _contacts(meeting, message))
            return
        except IntegrityError:
            # Another worker kept the same invitation a moment ago: update that one.
            existing = Invitation.objects.select_for_update().get(uid=meeting.uid)
    if not _newer(meeting, existing):
        return
    if meeting.cancelled:
        # A cancellation may carry little else: it changes the status, not the meeting.
        changes = {
            "status": Invitation.Status.CANCELLED,
            "sequence": meeting.sequence,
            "dtstamp": meeting.dtstamp or existing.dtstamp,
            "message": message,
        }
    else:
        changes = _fields(meeting, message)
        _link(existing, _contacts(meeting, message))
    for name, value in changes.items():
        setattr(existing, name, value)
    existing.owner = existing.owner or message.owner
    existing.updated_at = timezone.now()
    existing.save(update_fields=[*changes, "owner", "updated_at"])


def _calendars(parsed: Parsed) -> list[bytes]:
    found = list(parsed.calendars)
    if parsed.forwarded is not None:
        found += parsed.forwarded.calendars
    return found


def apply_invitations(parsed: Parsed, message: EmailMessage) -> None:
    """Create or update the invitations the message carries (called for each message
    captured; the caller's transaction holds the tenant)."""
    calendars = _calendars(parsed)
    if not calendars:
        return
    tz = current_tenant().tz
    notes: list[str] = []
    uids: list[str] = []
    for raw in calendars:
        meetings, problems = read_calendar(raw, tz=tz)
        notes += problems
        for meeting in meetings:
            _apply(meeting, message)
            uids.append(meeting.uid)
    changed = []
    if uids and not message.calendar_uid:
        message.calendar_uid = uids[0]
        changed.append("calendar_uid")
    new_notes = [n for n in dict.fromkeys(notes) if n not in message.notes]
    if new_notes:
        message.notes = [*message.notes, *new_notes]
        changed.append("notes")
    if changed:
        message.save(update_fields=changed)


# Held meetings become activities


def due_meetings(invitations: QuerySet[Invitation], *, now: datetime) -> QuerySet[Invitation]:
    """Invitations whose start has passed, not cancelled, with a contact and no activity
    yet. `invitations` is `Invitation.objects` (one tenant) or `.unscoped` (a scan)."""
    linked = InvitationContact.unscoped.filter(
        tenant_id=OuterRef("tenant_id"), invitation_id=OuterRef("pk")
    )
    return (
        invitations.filter(activity__isnull=True, starts_at__lte=now, owner__isnull=False)
        .exclude(status=Invitation.Status.CANCELLED)
        .filter(Exists(linked))
    )


def _first_contacts(invitations: Iterable[Invitation]) -> dict[int, Contact]:
    """Each invitation's first matched contact that is still live (one query)."""
    rows = (
        InvitationContact.objects.filter(
            invitation_id__in=[i.pk for i in invitations],
            contact__in=Contact.objects.live(),
        )
        .select_related("contact__organization")
        .order_by("invitation_id", "pk")
    )
    first: dict[int, Contact] = {}
    for row in rows:
        first.setdefault(row.invitation_id, row.contact)
    return first


def _duration(invitation: Invitation) -> int | None:
    if invitation.ends_at is None:
        return None
    minutes = round((invitation.ends_at - invitation.starts_at).total_seconds() / 60)
    return max(0, min(minutes, 24 * 60))


def _private(invitation: Invitation) -> bool:
    message = invitation.message
    return message is not None and (message.is_private or message.thread.private_to_id is not None)


def log_held_meetings(now: datetime) -> int:
    """Log each meeting that has started as a `meeting` activity of its first contact,
    once (the invitation keeps its activity, even if it is cancelled later). Returns how
    many were logged. Locks what it logs: two runs at once log nothing twice."""
    due = list(
        due_meetings(Invitation.objects.all(), now=now)
        .select_related("owner", "message__thread")
        .select_for_update(of=("self",), skip_locked=True)
        .order_by("starts_at", "pk")[:HELD_BATCH]
    )
    first = _first_contacts(due)
    logged = 0
    for invitation in due:
        contact = first.get(invitation.pk)
        if contact is None:
            continue
        activity = log_activity(
            by=invitation.owner,
            kind=Activity.Kind.MEETING,
            subject=PRIVATE_MEETING if _private(invitation) else invitation.summary[:200],
            contact=contact,
            occurred_at=invitation.starts_at,
            duration_minutes=_duration(invitation),
            captured=True,
        )
        invitation.activity = activity
        invitation.save(update_fields=["activity"])
        logged += 1
    return logged
