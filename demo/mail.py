"""Demo data for mail capture (`manage.py seed_demo`, after the automations seeder): a few
conversations between the demo reps and the contacts of their open deals, as a synced
mailbox would have brought them in (threaded, one with an attachment), through the same
capture a sync uses. Idempotent: capture keeps a Message-ID once."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage as StdMessage
from email.utils import format_datetime
from typing import TextIO

from django.utils import timezone

from crm.models import Membership, Role, Tenant
from mail.models import EmailMessage
from mail.parsing import parse
from mail.services.capture import capture
from pipeline.models import Deal

CONVERSATIONS = 4
DOMAIN = "demo.keel.test"


def _message(*, sender, to, subject, body, message_id, at, in_reply_to="") -> StdMessage:
    msg = StdMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = f"<{in_reply_to}>"
    msg.set_content(body)
    return msg


def seed(*, tenant: Tenant, members: dict[str, Membership], stdout: TextIO) -> None:
    reps = {m.user_id: m.user for m in members.values() if m.role == Role.REP}
    deals = (
        Deal.objects.filter(
            status=Deal.Status.OPEN, owner_id__in=reps, primary_contact__email__gt=""
        )
        .select_related("primary_contact")
        .order_by("pk")[:CONVERSATIONS]
    )
    now = timezone.now()
    kept = 0
    for i, deal in enumerate(deals):
        rep, contact = reps[deal.owner_id], deal.primary_contact
        first_id = f"demo-{deal.pk}-1@{DOMAIN}"
        sent = _message(
            sender=f"{rep.full_name} <{rep.email}>",
            to=f"{contact.first_name} {contact.last_name} <{contact.email}>",
            subject=f"{deal.name}: next steps",
            body=f"Hi {contact.first_name},\n\nthanks for your time today. As promised, a summary "
            "of what we discussed and the proposed timeline follows in the next days.\n\n"
            f"Best,\n{rep.full_name}",
            message_id=first_id,
            at=now - timedelta(days=3 + i, hours=2),
        )
        reply = _message(
            sender=f"{contact.first_name} {contact.last_name} <{contact.email}>",
            to=rep.email,
            subject=f"Re: {deal.name}: next steps",
            body=f"Hello {rep.full_name.split()[0]},\n\nthank you. Could you include the "
            "onboarding costs in the proposal? Our budget meeting is next Thursday.\n\n"
            f"Kind regards,\n{contact.first_name}",
            message_id=f"demo-{deal.pk}-2@{DOMAIN}",
            in_reply_to=first_id,
            at=now - timedelta(days=2 + i),
        )
        if i == 0:
            reply.add_attachment(
                b"Item,Amount\nLicences,12000\nOnboarding,?\n",
                maintype="text",
                subtype="csv",
                filename="budget-draft.csv",
            )
        for msg, outgoing in ((sent, True), (reply, False)):
            before = EmailMessage.objects.count()
            capture(
                parse(msg.as_bytes()), owner=rep, source=EmailMessage.Source.IMAP, outgoing=outgoing
            )
            kept += EmailMessage.objects.count() - before
    stdout.write(f"mail: {kept} e-mail(s) on the timelines of {len(deals)} open deal(s)")
