"""Reads for mail's pages."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from crm.models import User
from mail.models import EmailAttachment, EmailLink, EmailThread, Mailbox


def mailbox_status(mailbox: Mailbox | None) -> dict[str, Any] | None:
    if mailbox is None:
        return None
    return {
        "folders": sorted(mailbox.folders.all(), key=lambda f: f.role),
        "healthy": not mailbox.last_error,
        "syncing": mailbox.sync_lease_until is not None,
    }


def conversation(thread: EmailThread, *, viewer: User) -> dict[str, Any] | None:
    """The thread's messages, oldest first, each marked hidden when the viewer may not
    read it, with the records they are linked to (4 queries)."""
    messages = list(
        thread.messages.select_related("owner")
        .prefetch_related(
            Prefetch("attachments", queryset=EmailAttachment.objects.order_by("filename")),
            Prefetch(
                "links",
                queryset=EmailLink.objects.select_related("contact", "organization", "deal"),
            ),
        )
        .order_by("sent_at", "id")
    )
    if not messages:
        return None
    for message in messages:
        message.thread = thread
        message.hidden = message.hidden_from(viewer)
    records: dict[str, dict] = {"contacts": {}, "organizations": {}, "deals": {}}
    for message in messages:
        for link in message.links.all():
            for name, obj in (
                ("contacts", link.contact),
                ("organizations", link.organization),
                ("deals", link.deal),
            ):
                if obj is not None:
                    records[name][obj.pk] = obj
    owners = {m.owner_id for m in messages}
    return {
        "thread": thread,
        "emails": messages,  # not "messages": the page's toasts read that name
        "contacts": list(records["contacts"].values()),
        "organizations": list(records["organizations"].values()),
        "deals": list(records["deals"].values()),
        "may_make_private": thread.private_to_id is None and viewer.pk in owners,
        "may_share": thread.private_to_id == viewer.pk,
    }
