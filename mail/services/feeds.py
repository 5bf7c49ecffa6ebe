"""A member's private calendar feed (ICS, generated with `icalendar`): their open tasks
with a due date, the meetings of their invitations and the meetings they logged.

The URL carries a random token; Keel stores only its SHA-256, so the URL is shown once,
when it is made. Making a new one ends the old one; revoking deletes the feed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from contacts.models import Activity, Task
from crm.audit import record_event
from crm.models import Membership, User
from crm.tenancy import current_tenant
from mail.models import CalendarFeed, Invitation

PRODID = "-//Keel CRM//Calendar feed//EN"
# A calendar app polls the feed; a window keeps each answer small. Open tasks show
# however overdue they are (they are still to do), up to the cap.
PAST = timedelta(days=90)
AHEAD = timedelta(days=366)
CAP = 1000  # of each kind
TASK_LENGTH = timedelta(minutes=15)
LAST_USED_RESOLUTION = timedelta(hours=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(*, user: User, by: User) -> tuple[CalendarFeed, str]:
    """A new feed URL token for `user`; an existing feed gets a new token (the old URL
    stops working). Returns the feed and its token, which is not stored."""
    if not Membership.objects.filter(user=user, is_active=True).exists():
        raise ValidationError("Only an active member can have a calendar feed.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
        rotated = feed is not None
        if feed is None:
            feed = CalendarFeed(tenant=current_tenant(), user=user)
        feed.token_hash = digest(token)
        feed.created_at, feed.last_used_at = timezone.now(), None
        feed.save()
        record_event(
            actor=by,
            verb="calendar_feed.created",
            target=feed,
            changes={"user": [None, user.pk], **({"rotated": [False, True]} if rotated else {})},
        )
    return feed, token


def revoke_feed(feed: CalendarFeed, *, by: User) -> None:
    """End the feed: its URL answers 404 from now on."""
    with transaction.atomic():
        record_event(
            actor=by,
            verb="calendar_feed.revoked",
            target=feed,
            changes={"user": [feed.user_id, None]},
        )
        feed.delete()


def feed_for(token: str) -> CalendarFeed | None:
    """The current tenant's feed of `token`, if its member is still active."""
    feed = CalendarFeed.objects.select_related("user").filter(token_hash=digest(token)).first()
    if feed is None or not feed.user.is_active:
        return None
    if not Membership.objects.filter(user_id=feed.user_id, is_active=True).exists():
        return None
    return feed


def mark_used(feed: CalendarFeed, *, now: datetime) -> None:
    if feed.last_used_at is None or now - feed.last_used_at >= LAST_USED_RESOLUTION:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
        feed.last_used_at = now


# The ICS


def _uid(kind: str, pk: int) -> str:
    # Stable across fetches, so a calendar app updates an event rather than adding one.
    return f"keel-{kind}-{current_tenant().pk}-{pk}@keel-crm"


def _record_url(base_url: str, record) -> str:
    if record.contact_id:
        return base_url + reverse(
            "contacts:contact-detail", args=[current_tenant().slug, record.contact_id]
        )
    if record.organization_id:
        return base_url + reverse(
            "contacts:organization-detail", args=[current_tenant().slug, record.organization_id]
        )
    return ""


def _event(uid: str, *, summary: str, start: datetime, stamp: datetime, tz: ZoneInfo) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(ZoneInfo("UTC")))
    event.add("summary", summary)
    event.add("dtstart", start.astimezone(tz))
    return event


def _is_all_day(start: datetime, end: datetime | None, tz: ZoneInfo) -> bool:
    """Whether a stored meeting was an all-day event (kept from the workspace's midnight)."""
    if end is None:
        return False
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    return local_start.time() == time.min and local_end.time() == time.min and end > start


def _task_events(user: User, *, now: datetime, tz: ZoneInfo, base_url: str) -> list[Event]:
    # Tasks as VEVENTs at their due time, not VTODOs: Google Calendar ignores VTODOs in a
    # subscribed feed and Apple Calendar does not show them either, so a VTODO would be
    # seen nowhere. Transparent, so a task does not make the member look busy.
    tasks = (
        Task.objects.filter(
            assignee=user,
            done_at__isnull=True,
            cancelled_at__isnull=True,
            due_at__isnull=False,
            due_at__lt=now + AHEAD,
        )
        .select_related("contact", "organization")
        .order_by("due_at", "pk")[:CAP]
    )
    events = []
    for task in tasks:
        event = _event(
            _uid("task", task.pk),
            summary=f"Task: {task.title}",
            start=task.due_at,
            stamp=task.updated_at,
            tz=tz,
        )
        event.add("duration", TASK_LENGTH)
        event.add("transp", "TRANSPARENT")
        about = task.contact or task.organization
        event.add(
            "description",
            "\n\n".join(x for x in [f"About {about}" if about else "", task.notes] if x),
        )
        if url := _record_url(base_url, task):
            event.add("url", url)
        events.append(event)
    return events


def _invitation_events(user: User, *, now: datetime, tz: ZoneInfo) -> list[Event]:
    invitations = Invitation.objects.filter(
        owner=user, starts_at__gte=now - PAST, starts_at__lt=now + AHEAD
    ).order_by("starts_at", "pk")[:CAP]
    events = []
    for invitation in invitations:
        event = _event(
            _uid("meeting", invitation.pk),
            summary=invitation.summary,
            start=invitation.starts_at,
            stamp=invitation.updated_at,
            tz=tz,
        )
        if _is_all_day(invitation.starts_at, invitation.ends_at, tz):
            event.pop("DTSTART")
            event.add("dtstart", invitation.starts_at.astimezone(tz).date())
            event.add("dtend", invitation.ends_at.astimezone(tz).date())
        elif invitation.ends_at is not None:
            event.add("dtend", invitation.ends_at.astimezone(tz))
        event.add("sequence", max(invitation.sequence, 0))
        event.add("status", invitation.status.upper())
        if invitation.location:
            event.add("location", invitation.location)
        if invitation.description:
            event.add("description", invitation.description)
        events.append(event)
    return events


def _activity_events(user: User, *, now: datetime, tz: ZoneInfo, base_url: str) -> list[Event]:
    # Captured meetings are the invitations' own activities: already in the feed above.
    activities = (
        Activity.objects.filter(
            logged_by=user,
            kind=Activity.Kind.MEETING,
            captured=False,
            occurred_at__gte=now - PAST,
        )
        .select_related("contact", "organization")
        .order_by("occurred_at", "pk")[:CAP]
    )
    events = []
    for activity in activities:
        event = _event(
            _uid("activity", activity.pk),
            summary=activity.subject,
            start=activity.occurred_at,
            stamp=activity.occurred_at,
            tz=tz,
        )
        if activity.duration_minutes:
            event.add("duration", timedelta(minutes=activity.duration_minutes))
        if activity.body:
            event.add("description", activity.body)
        if url := _record_url(base_url, activity):
            event.add("url", url)
        events.append(event)
    return events


def render_feed(feed: CalendarFeed, *, now: datetime, base_url: str) -> bytes:
    """The feed as ICS, dates in the workspace's time zone (three queries)."""
    tenant = current_tenant()
    tz = tenant.tz
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Keel – {tenant.name}")
    calendar.add("x-wr-timezone", tenant.time_zone)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    user = feed.user
    for event in [
        *_task_events(user, now=now, tz=tz, base_url=base_url),
        *_invitation_events(user, now=now, tz=tz),
        *_activity_events(user, now=now, tz=tz, base_url=base_url),
    ]:
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
