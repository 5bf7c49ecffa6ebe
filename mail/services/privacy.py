"""Mail's share of a person's data rights (governance's erasure, export and retention call
these): the messages and invitations a contact is party to."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from contacts.models import Activity, Contact
from mail.models import (
    EmailAttachment,
    EmailLink,
    EmailMessage,
    EmailThread,
    Invitation,
    InvitationContact,
)

ERASED = "[erased]"


def _messages(contact_ids: list[int]):
    linked = EmailLink.objects.filter(contact_id__in=contact_ids).values("message_id")
    return EmailMessage.objects.filter(pk__in=linked)


def _without(people: list[dict], addresses: set[str]) -> list[dict]:
    return [
        {"name": "", "address": ERASED} if p.get("address", "").lower() in addresses else p
        for p in people
    ]


def erase_mail(contact_ids: list[int], *, addresses: set[str]) -> dict[str, int]:
    """Every message the person is party to loses its body and attachments (what was
    said is about them); their addresses are replaced wherever they appear; their
    invitations lose description and attendee addresses. The rows stay, so counts hold."""
    addresses = {a.lower() for a in addresses if a}
    messages = list(_messages(contact_ids))
    attachments = EmailAttachment.objects.filter(message__in=messages)
    files = 0
    for attachment in attachments:
        attachment.file.delete(save=False)
        files += 1
    attachments.delete()
    for message in messages:
        message.text = message.html = ""
        message.subject = f"E-mail ({ERASED})"
        message.notes = []
        if message.from_address.lower() in addresses:
            message.from_address, message.from_name = ERASED, ""
        message.to, message.cc = _without(message.to, addresses), _without(message.cc, addresses)
        message.save(
            update_fields=[
                "text",
                "html",
                "subject",
                "notes",
                "from_address",
                "from_name",
                "to",
                "cc",
            ]
        )
    Activity.objects.filter(pk__in=[m.activity_id for m in messages]).update(
        subject=f"E-mail ({ERASED})", body=""
    )
    threads = {m.thread_id for m in messages}

    EmailThread.objects.filter(pk__in=threads).update(subject=f"Conversation ({ERASED})")
    invited = InvitationContact.objects.filter(contact_id__in=contact_ids).values("invitation_id")
    invitations = list(Invitation.objects.filter(pk__in=invited))
    for invitation in invitations:
        invitation.description = ""
        invitation.attendees = _without(invitation.attendees, addresses)
        if invitation.organizer.lower() in addresses:
            invitation.organizer = ERASED
        invitation.save(update_fields=["description", "attendees", "organizer"])
    return {"emails": len(messages), "attachments": files, "invitations": len(invitations)}


def mail_of(contact: Contact) -> dict[str, Any]:
    """The person's e-mails and invitations, for their data export (attachments by name
    and size; the export is data, not files)."""
    messages = _messages([contact.pk]).prefetch_related("attachments").order_by("sent_at", "id")
    invited = InvitationContact.objects.filter(contact=contact).values("invitation_id")
    return {
        "emails": [
            {
                "when": m.sent_at.isoformat(),
                "direction": m.get_direction_display(),
                "from": {"name": m.from_name, "address": m.from_address},
                "to": m.to,
                "cc": m.cc,
                "subject": m.subject,
                "text": m.text,
                "attachments": [
                    {"filename": a.filename, "size": a.size} for a in m.attachments.all()
                ],
            }
            for m in messages
        ],
        "meetings": [
            {
                "summary": i.summary,
                "starts_at": i.starts_at.isoformat(),
                "ends_at": i.ends_at.isoformat() if i.ends_at else None,
                "location": i.location,
                "status": i.get_status_display(),
                "organizer": i.organizer,
                "attendees": i.attendees,
            }
            for i in Invitation.objects.filter(pk__in=invited).order_by("starts_at")
        ],
    }


def recent_mail(since) -> Q:
    """Contacts with mail since `since` (retention keeps them): a filter on Contact."""
    return Q(
        pk__in=EmailLink.objects.filter(contact__isnull=False, sent_at__gte=since).values(
            "contact_id"
        )
    )
