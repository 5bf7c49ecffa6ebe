"""A parsed message becomes Keel's: one `email` activity linked to the contacts it is
with, their organizations and open deals, threaded with its replies, once per workspace.

Whatever brought it (a mailbox sync, a forward to the workspace's address, a send from
Keel) calls `capture()`; a message that matches no contact is not kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Activity, Contact
from contacts.selectors import contacts_by_email
from contacts.services.work import log_activity
from crm.models import Membership, User
from crm.tenancy import current_tenant
from mail.models import EmailAttachment, EmailLink, EmailMessage, EmailThread
from mail.parsing import Parsed, Person, thread_subject
from pipeline.models import Deal, DealContact
from pipeline.services.deals import link_activity

PRIVATE_SUBJECT = "Private e-mail"
MB = 1024 * 1024  # as MAIL_ATTACHMENT_MAX_BYTES's default is written
DEALS_PER_MESSAGE = 5


@dataclass(frozen=True)
class Captured:
    message: EmailMessage
    created: bool  # False: the workspace already had it (another mailbox, a redelivery)


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; a broken message may.
    return text.replace("\x00", "")


def internal_addresses() -> set[str]:
    """The workspace's own people, never a customer whoever's mailbox they are in: the
    members' addresses, and ("@domain") their company's domains, so that a colleague who
    is not a member counts as internal too. A personal provider's domain (gmail.com…) is
    no company's: a member at gmail.com makes only their own address internal."""
    emails = {
        e.lower()
        for e in Membership.objects.filter(is_active=True).values_list("user__email", flat=True)
    }
    domains = {e.rpartition("@")[2] for e in emails} - settings.MAIL_PERSONAL_DOMAINS
    return emails | {f"@{d}" for d in domains}


def ignored(address: str, *, internal: set[str]) -> bool:
    """Members, their colleagues and `MAIL_IGNORED_DOMAINS` are never customers."""
    domain = address.rpartition("@")[2]
    return (
        address in internal or f"@{domain}" in internal or domain in settings.MAIL_IGNORED_DOMAINS
    )


def customers(parsed: Parsed, *, internal: set[str]) -> list[Person]:
    """The message's people who may be customers, in header order, each once."""
    seen: dict[str, Person] = {}
    for person in parsed.people:
        if not ignored(person.address, internal=internal):
            seen.setdefault(person.address, person)
    return list(seen.values())


def _matched_contacts(people: list[Person]) -> list[Contact]:
    order = {p.address: i for i, p in enumerate(people)}
    found = contacts_by_email(set(order)).select_related("organization")
    return sorted(found, key=lambda c: (order.get(c.email.lower(), len(order)), c.pk))


def _open_deals(contacts: list[Contact]) -> list[Deal]:
    ids = [c.pk for c in contacts]
    # The deals a contact is involved in as a list, not a subquery: with the subquery in
    # the OR, PostgreSQL read every deal of the tenant (60 ms a message at 150,000 deals);
    # with a list, two index scans (under 1 ms).
    involved = list(
        DealContact.objects.filter(contact_id__in=ids).values_list("deal_id", flat=True)
    )
    return list(
        Deal.objects.filter(status=Deal.Status.OPEN)
        .filter(Q(primary_contact_id__in=ids) | Q(pk__in=involved))
        .order_by("-updated_at", "-pk")[:DEALS_PER_MESSAGE]
    )


def _thread(parsed: Parsed, *, at: datetime) -> EmailThread:
    earlier = [parsed.in_reply_to, *reversed(parsed.references)]
    earlier = [m for m in earlier if m]
    if earlier:
        parent = (
            EmailMessage.objects.filter(message_id__in=earlier)
            .select_related("thread")
            .order_by("-sent_at")
            .first()
        )
        if parent is not None:
            thread = parent.thread
            if at > thread.last_message_at:
                thread.last_message_at = at
                thread.save(update_fields=["last_message_at"])
            return thread
    return EmailThread.objects.create(
        subject=thread_subject(parsed.subject)[:300] or "(no subject)", last_message_at=at
    )


def _adopt_replies(message: EmailMessage) -> None:
    """Replies synced before the message they answer (another folder, a later mailbox)
    join its thread."""
    orphans = EmailMessage.objects.filter(in_reply_to=message.message_id).exclude(
        thread=message.thread
    )
    for orphan in orphans.select_related("thread"):
        old = orphan.thread
        EmailMessage.objects.filter(thread=old).update(thread=message.thread)
        if not EmailMessage.objects.filter(thread=old).exists():
            old.delete()


def _attachments(message: EmailMessage, parsed: Parsed) -> list[str]:
    notes = []
    cap = settings.MAIL_ATTACHMENT_MAX_BYTES
    for item in parsed.attachments:
        if len(item.payload) > cap:
            notes.append(
                f"{item.filename} ({len(item.payload) / MB:.1f} MB) is over the "
                f"{cap / MB:g} MB limit for attachments and was not kept."
            )
            continue
        attachment = EmailAttachment(
            tenant=current_tenant(),
            message=message,
            filename=item.filename,
            content_type=item.content_type,
            size=len(item.payload),
        )
        attachment.file.save(item.filename, ContentFile(item.payload), save=False)
        attachment.save()
    return notes


def _links(
    message: EmailMessage, contacts: list[Contact], deals: list[Deal], orgs: set[int]
) -> None:
    tenant = current_tenant()
    rows = [
        EmailLink(tenant=tenant, message=message, contact=c, sent_at=message.sent_at)
        for c in contacts
    ]
    rows += [
        EmailLink(tenant=tenant, message=message, organization_id=o, sent_at=message.sent_at)
        for o in sorted(orgs)
    ]
    rows += [
        EmailLink(tenant=tenant, message=message, deal=d, sent_at=message.sent_at) for d in deals
    ]
    EmailLink.objects.bulk_create(rows)


def capture(
    parsed: Parsed,
    *,
    owner: User,
    source: str,
    outgoing: bool,
    private: bool = False,
    contact: Contact | None = None,
    deal: Deal | None = None,
    internal: set[str] | None = None,
) -> Captured | None:
    """Keep the message if it is with a contact; None if it is with no one Keel knows.

    Idempotent by Message-ID: the same message again (another member's mailbox, a
    redelivery, a retried sync) returns the one already kept.

    A message sent from Keel names the record it was composed on: `contact` is kept
    first among its contacts (the activity is on it) whoever the addresses match, and
    `deal` is the deal it is logged on; with no contact at all, the activity is on the
    deal's organization (None when the deal has none either).

    `internal`: the members' addresses (`internal_addresses()`), when the caller
    captures many messages at once and has read them already.
    """
    existing = EmailMessage.objects.filter(message_id=parsed.message_id).first()
    if existing is not None:
        return Captured(existing, created=False)
    if internal is None:
        internal = internal_addresses()
    people = customers(parsed, internal=internal | {owner.email.lower()})
    contacts = _matched_contacts(people) if people else []
    if contact is not None:
        contacts = [contact, *(c for c in contacts if c.pk != contact.pk)]
    if not contacts and (deal is None or deal.organization_id is None):
        return None
    # An activity records what happened: a Date header ahead of the clock is clamped.
    at = min(parsed.sent_at, timezone.now())
    deals = _open_deals(contacts) if contacts else []
    if deal is not None:
        deals = [deal, *(d for d in deals if d.pk != deal.pk)][:DEALS_PER_MESSAGE]
    try:
        with transaction.atomic():
            message = _save(
                parsed,
                owner=owner,
                source=source,
                outgoing=outgoing,
                private=private,
                at=at,
                contacts=contacts,
                deals=deals,
            )
    except IntegrityError:
        # Another worker kept the same message a moment ago.
        return Captured(EmailMessage.objects.get(message_id=parsed.message_id), created=False)
    return Captured(message, created=True)


def _save(parsed, *, owner, source, outgoing, private, at, contacts, deals) -> EmailMessage:
    thread = _thread(parsed, at=at)
    subject = _clean(parsed.subject) or "(no subject)"
    activity = log_activity(
        by=owner,
        kind=Activity.Kind.EMAIL,
        subject=PRIVATE_SUBJECT if private else subject[:200],
        contact=contacts[0] if contacts else None,
        organization=None if contacts else deals[0].organization,
        occurred_at=at,
        captured=True,
        inbound=not outgoing,
    )
    message = EmailMessage.objects.create(
        thread=thread,
        activity=activity,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        direction=EmailMessage.Direction.OUTGOING if outgoing else EmailMessage.Direction.INCOMING,
        source=source,
        from_address=parsed.sender.address if parsed.sender else "",
        from_name=_clean(parsed.sender.name) if parsed.sender else "",
        to=[p.as_dict() for p in parsed.to],
        cc=[p.as_dict() for p in parsed.cc],
        subject=subject,
        text=_clean(parsed.text),
        html=_clean(parsed.html),
        sent_at=at,
        owner=owner,
        is_private=private,
    )
    notes = [*parsed.problems, *_attachments(message, parsed)]
    if notes:
        message.notes = notes
        message.save(update_fields=["notes"])
    orgs = {c.organization_id for c in contacts if c.organization_id}
    if not contacts:  # a send from a deal, to no contact: its organization
        orgs = {deals[0].organization_id}
    _links(message, contacts, deals, orgs)
    if deals:
        link_activity(deals[0], activity=activity, by=owner)
    _adopt_replies(message)
    return message
