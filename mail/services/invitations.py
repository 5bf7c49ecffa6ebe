"""Meeting invitations in captured mail (their calendar data read by
`mail.calendar_data`).

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
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from contacts.models import Activity, Contact
from contacts.selectors import contacts_by_email
from contacts.services.work import log_activity
from crm.tenancy import current_tenant
from mail.calendar_data import Meeting, read_calendar
from mail.models import EmailLink, EmailMessage, Invitation, InvitationContact
from mail.parsing import Parsed, Person
from mail.services.capture import ignored, internal_addresses

PRIVATE_MEETING = "Private meeting"
HELD_BATCH = 500  # meetings logged per run; the next run goes on
_EPOCH = datetime.min.replace(tzinfo=UTC)


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
