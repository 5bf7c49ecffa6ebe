"""Captured conversations and invitations on the timelines of contacts, organizations and
deals (registered in MailConfig.ready()); a constant number of queries per page (the
e-mails, their attachment counts, the invitations)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, QuerySet

from contacts.models import Contact, Organization
from contacts.timeline import Entry
from mail.models import EmailAttachment, EmailLink, Invitation
from pipeline.models import Deal

EMAIL_TEMPLATE = "mail/timeline/email.html"
INVITATION_TEMPLATE = "mail/timeline/invitation.html"


def _email_entries(
    links: QuerySet[EmailLink], *, before: datetime | None, limit: int
) -> list[Entry]:
    if before is not None:
        links = links.filter(sent_at__lt=before)
    rows = list(
        links.select_related("message__thread", "message__owner").order_by("-sent_at", "-id")[
            : limit + 1
        ]
    )
    # Counted for the page's messages alone: counted in the same query, PostgreSQL
    # grouped every link of the record before taking a page (55 ms at 2,000 e-mails).
    counts = dict(
        EmailAttachment.objects.filter(message_id__in=[link.message_id for link in rows])
        .values_list("message_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    entries = []
    for link in rows:
        message = link.message
        message.attachment_count = counts.get(message.pk, 0)
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
