"""Captured conversations and invitations on the timelines of contacts, organizations and
deals (registered in MailConfig.ready()); one query per kind of entry and page."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, QuerySet

from contacts.models import Contact, Organization
from contacts.timeline import Entry
from mail.models import EmailLink, Invitation
from pipeline.models import Deal

EMAIL_TEMPLATE = "mail/timeline/email.html"
INVITATION_TEMPLATE = "mail/timeline/invitation.html"


def _email_entries(
    links: QuerySet[EmailLink], *, before: datetime | None, limit: int
) -> list[Entry]:
    if before is not None:
        links = links.filter(sent_at__lt=before)
    rows = (
        links.select_related("message__thread", "message__owner")
        .annotate(attachment_count=Count("message__attachments"))
        .order_by("-sent_at", "-id")[: limit + 1]
    )
    entries = []
    for link in rows:
        message = link.message
        message.attachment_count = link.attachment_count
        entries.append(
            Entry(message.sent_at, f"email:{message.pk}", "email", message, EMAIL_TEMPLATE)
        )
    return entries


def _invitation_entries(invitations: QuerySet[Invitation], *, before, limit) -> list[Entry]:
    if before is not None:
        invitations = invitations.filter(starts_at__lt=before)
    return [
        Entry(i.starts_at, f"invitation:{i.pk}", "meeting", i, INVITATION_TEMPLATE)
        for i in invitations.select_related("owner", "message__thread").order_by(
            "-starts_at", "-id"
        )[: limit + 1]
    ]


def record_entries(
    record: Contact | Organization, *, before: datetime | None, limit: int
) -> list[Entry]:
    field = "contact" if isinstance(record, Contact) else "organization"
    emails = _email_entries(EmailLink.objects.filter(**{field: record}), before=before, limit=limit)
    if isinstance(record, Contact):
        invitations = Invitation.objects.filter(contacts=record)
    else:
        invitations = Invitation.objects.filter(contacts__organization=record).distinct()
    return sorted(
        emails + _invitation_entries(invitations, before=before, limit=limit),
        key=lambda e: (e.at, e.key),
        reverse=True,
    )


def deal_entries(deal: Deal, *, before: datetime | None, limit: int) -> list[Entry]:
    return _email_entries(EmailLink.objects.filter(deal=deal), before=before, limit=limit)
