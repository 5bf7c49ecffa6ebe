"""The benchmark's mailbox (issue 18): a member's mailbox of N messages on a throwaway
Dovecot, its first sync and an incremental one, and the contact page of a customer with
2,000 e-mails on the timeline (measured by the runner like every page).

The mailbox is made to look like a rep's: a tenth of the messages are one customer's
threads (the page's contact), half are with other contacts of the large tenant, the rest
with people Keel does not know (newsletters, strangers), which the sync skips after
reading their headers; a quarter sit in the Sent folder; one in fifty has an attachment.
Message-IDs carry a token of the run, so every run's first sync is a first sync.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage as StdMessage
from email.utils import format_datetime
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from benchmarks.dovecot import PASSWORD, Dovecot, available
from benchmarks.seed import LARGE_SLUG, TIMELINE_CONTACT_EMAIL
from contacts.models import Contact
from crm.models import Membership, Role, Tenant
from crm.tenancy import tenant_context
from mail import secrets as mail_secrets
from mail.models import Mailbox
from mail.services.sync import sync_mailbox

APPEND_BATCH = 500
INCREMENTAL = 100
THREAD = 4
PAGE_CONTACT_SHARE = 10  # one message in ten is the page contact's
BODY = (
    "Thanks for the call today. As discussed, here is the summary of the points we went "
    "through and the next steps on both sides. "
) * 8


def _message(rng, *, token, n, sender, to, subject, in_reply_to="", attach=False) -> bytes:
    msg = StdMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(timezone.now() - timedelta(minutes=n))
    msg["Message-ID"] = f"<bench-{token}-{n}@mail.bench.test>"
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = f"<{in_reply_to}>"
    msg.set_content(BODY)
    msg.add_alternative(f"<p>{BODY}</p><p><b>Best regards</b></p>", subtype="html")
    if attach:
        msg.add_attachment(
            rng.randbytes(20_000), maintype="application", subtype="pdf", filename=f"quote-{n}.pdf"
        )
    return msg.as_bytes()


def _mailbox_messages(
    rng, *, token, count, rep, page_contact, known
) -> tuple[list[bytes], list[bytes]]:
    """(INBOX, Sent) raw messages."""
    inbox, sent = [], []
    for n in range(count):
        attach = n % 50 == 0
        if n % PAGE_CONTACT_SHARE == 0:
            step = (n // PAGE_CONTACT_SHARE) % THREAD
            first = n - step * PAGE_CONTACT_SHARE
            reply_to = f"bench-{token}-{n - PAGE_CONTACT_SHARE}@mail.bench.test" if step else ""
            outgoing = step % 2 == 1
            subject = f"{'Re: ' if step else ''}Proposal {first}"
            people = (rep, page_contact) if outgoing else (page_contact, rep)
        elif n % 2:
            outgoing = n % 4 == 1
            other = rng.choice(known)
            people = (rep, other) if outgoing else (other, rep)
            subject, reply_to = f"Order {n}", ""
        else:
            outgoing, people = False, (f"news{n % 300}@newsletter{n % 40}.example", rep)
            subject, reply_to = f"Weekly digest {n}", ""
        raw = _message(rng, token=token, n=n, sender=people[0], to=people[1], subject=subject,
                       in_reply_to=reply_to, attach=attach)  # fmt: skip
        (sent if outgoing else inbox).append(raw)
    return inbox, sent


def _append(server: Dovecot, user: str, folder: str, messages: list[bytes]) -> None:
    with server.client(user) as client:
        for start in range(0, len(messages), APPEND_BATCH):
            client.multiappend(folder, messages[start : start + APPEND_BATCH])


def measure_mail(count: int, log: Callable[[str], None]) -> dict[str, Any]:
    if not available():
        raise RuntimeError("the mail benchmark needs Debian's dovecot-imapd and root (see README)")
    rng = random.Random(18)  # noqa: S311 - repeatable data, nothing secret
    token = secrets.token_hex(4)
    tenant = Tenant.objects.get(slug=LARGE_SLUG)
    server = Dovecot().start()
    try:
        with transaction.atomic(), tenant_context(tenant):
            rep = (
                Membership.objects.filter(role=Role.REP)
                .order_by("pk")
                .select_related("user")
                .first()
                .user
            )
            live = Contact.objects.live().exclude(email="").exclude(email=TIMELINE_CONTACT_EMAIL)
            page_contact = live.order_by("pk").first()
            known = list(live.order_by("?").values_list("email", flat=True)[:5000])
            Mailbox.objects.filter(user=rep).delete()
            user = server.new_user()
            mailbox = Mailbox.objects.create(
                user=rep, email=rep.email, imap_host="127.0.0.1", imap_port=server.port,
                imap_security="none", username=user, password_encrypted=mail_secrets.encrypt(PASSWORD),
                sent_folder="Sent",
            )  # fmt: skip
        inbox, sent = _mailbox_messages(rng, token=token, count=count, rep=rep.email,
                                        page_contact=page_contact.email, known=known)  # fmt: skip
        started = time.perf_counter()
        _append(server, user, "INBOX", inbox)
        _append(server, user, "Sent", sent)
        append_s = time.perf_counter() - started
        log(f"  mailbox of {count:,} messages appended over IMAP in {append_s:.1f} s")

        started = time.perf_counter()
        first = sync_mailbox(mailbox.pk, tenant=tenant)
        first_s = time.perf_counter() - started
        log(f"  first sync: {first_s:.1f} s ({first.seen:,} read, {first.logged:,} logged)")

        more_in, more_sent = _mailbox_messages(random.Random(19), token=token + "n", count=INCREMENTAL,  # noqa: S311
                                    rep=rep.email, page_contact=page_contact.email, known=known)  # fmt: skip
        _append(server, user, "INBOX", more_in)
        _append(server, user, "Sent", more_sent)
        started = time.perf_counter()
        second = sync_mailbox(mailbox.pk, tenant=tenant)
        incremental_s = time.perf_counter() - started
        log(
            f"  incremental sync: {incremental_s:.2f} s ({second.seen} read, {second.logged} logged)"
        )
        with transaction.atomic(), tenant_context(tenant):
            mailbox.refresh_from_db()
            error = mailbox.last_error
            on_page = page_contact.pk
    finally:
        server.stop()
    return {
        "messages": count,
        "append_s": round(append_s, 1),
        "first_sync_s": round(first_s, 1),
        "first_sync_read": first.seen,
        "first_sync_logged": first.logged,
        "incremental_s": round(incremental_s, 2),
        "incremental_read": second.seen,
        "incremental_logged": second.logged,
        "error": error,
        "contact_url": reverse(
            "contacts:contact-detail", kwargs={"tenant_slug": LARGE_SLUG, "pk": on_page}
        ),
    }
