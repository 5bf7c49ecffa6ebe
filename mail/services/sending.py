"""Sending from Keel: an e-mail composed on a contact or a deal, with merge fields
(`mail.merge_fields`) filled in from plain values of its records, sent through the
member's own SMTP server or the workspace's, and logged at once.

The message is built once (the standard library's `email`), and its bytes are what the
server receives and what `capture()` keeps: a reply's In-Reply-To names our Message-ID,
so the sync threads it with the sent message.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage as StdMessage
from email.utils import format_datetime, make_msgid, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage as DjangoMessage
from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone

from contacts.models import Contact
from contacts.selectors import contacts_by_email
from crm.audit import record_event
from crm.models import User
from crm.money import format_money
from crm.tenancy import current_tenant
from mail import secrets
from mail.addresses import Recipients, named_address, parse_recipients
from mail.merge_fields import Merged, merge, merge_both
from mail.models import EmailMessage, EmailTemplate, Mailbox
from mail.models.mailboxes import Security
from mail.parsing import parse
from mail.services.capture import capture, internal_addresses
from pipeline.models import Deal

SUBJECT_MAX = 300
BODY_MAX = 100_000
SMTP_TIMEOUT = 30  # seconds, unless EMAIL_TIMEOUT says otherwise


@dataclass(frozen=True)
class Route:
    """How a member's e-mail leaves: From their address, through their own SMTP server
    when their mailbox names one, else through the workspace's (Django's EMAIL_BACKEND)."""

    sender: Address
    mailbox: Mailbox | None

    @property
    def own_server(self) -> bool:
        return self.mailbox is not None and bool(self.mailbox.smtp_host)

    def describe(self) -> str:
        if self.own_server:
            return f"through your mail server {self.mailbox.smtp_host}"
        return "through the workspace's mail server"


def route_for(user: User) -> Route:
    mailbox = Mailbox.objects.filter(user=user).first()
    address = mailbox.email if mailbox is not None else user.email
    return Route(sender=named_address(user.full_name, address.lower()), mailbox=mailbox)


# Merge values


def merge_values(
    *, contact: Contact | None, deal: Deal | None, sender: User, route: Route | None = None
) -> dict[str, str]:
    """The values merge fields may show: plain strings, "" where there is none."""
    route = route or route_for(sender)
    organization = None
    if deal is not None and deal.organization_id:
        organization = deal.organization
    elif contact is not None and contact.organization_id:
        organization = contact.organization
    values = {
        "organization.name": organization.name if organization is not None else "",
        "sender.first_name": sender.full_name.split()[0] if sender.full_name.strip() else "",
        "sender.full_name": sender.full_name,
        "sender.email": route.sender.addr_spec,
    }
    if contact is not None:
        values.update(
            {
                "contact.first_name": contact.first_name,
                "contact.last_name": contact.last_name,
                "contact.full_name": contact.full_name,
                "contact.email": contact.email,
            }
        )
    if deal is not None:
        amount = deal.amount
        values["deal.name"] = deal.name
        values["deal.amount"] = (
            "" if amount is None else format_money(amount, current_tenant().currency)
        )
    return {name: (value or "").strip() for name, value in values.items()}


def render_template(
    template_or_text: EmailTemplate | str,
    *,
    contact: Contact | None,
    deal: Deal | None,
    sender: User,
) -> Merged | str:
    """A template's subject and body (Merged), or a text, with the merge fields filled
    in from plain values. Refuses (ValidationError) an unknown field, naming it, and a
    field with no value here unless it has a default."""
    values = merge_values(contact=contact, deal=deal, sender=sender)
    if isinstance(template_or_text, EmailTemplate):
        return merge_both(template_or_text.subject, template_or_text.body, values)
    return merge(template_or_text, values)


# Building and delivering


class _Wire(StdMessage):
    """The message as it goes on the wire (CRLF): the same bytes whether smtplib or one
    of Django's backends sends them (they call as_bytes(linesep=…))."""

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\r\n", policy=None) -> bytes:
        return super().as_bytes(unixfrom, policy=(policy or self.policy).clone(linesep=linesep))


def _build(route: Route, recipients: Recipients, merged: Merged) -> _Wire:
    msg = _Wire()
    msg["From"] = route.sender
    if not route.own_server:
        # The workspace's server transmits mail From the member: RFC 5322's Sender names
        # the agent that did (DEFAULT_FROM_EMAIL), and the envelope's bounces go there too.
        # The relay must be allowed to send for the members' domain (SPF, DKIM).
        workspace = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()
        if workspace and workspace != route.sender.addr_spec:
            msg["Sender"] = settings.DEFAULT_FROM_EMAIL
    msg["To"] = recipients.to
    if recipients.cc:
        msg["Cc"] = recipients.cc
    msg["Subject"] = merged.subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = make_msgid(idstring="keel", domain=route.sender.domain)
    msg.set_content(merged.body)
    return msg


def _envelope(route: Route) -> str:
    if route.own_server:
        return route.sender.addr_spec
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or route.sender.addr_spec


def _timeout() -> int:
    return settings.EMAIL_TIMEOUT or SMTP_TIMEOUT


def _tls() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.MAIL_CA_FILE or None)


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(words.split())}"


def _failure(exc: Exception, where: str, host: str, port: int) -> ValidationError:
    """What went wrong, in words for the compose form."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        text = (
            f"{where} refused the user name or password ({_reply(exc.smtp_code, exc.smtp_error)})."
        )
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{a} ({_reply(*r)})" for a, r in exc.recipients.items())
        text = f"{where} refused every recipient: {refused}."
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        text = f"{where} refused the sender {exc.sender} ({_reply(exc.smtp_code, exc.smtp_error)})."
    elif isinstance(exc, smtplib.SMTPDataError):
        text = f"{where} refused the message ({_reply(exc.smtp_code, exc.smtp_error)})."
    elif isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
        text = f"{where} refused the connection ({_reply(exc.smtp_code, exc.smtp_error)})."
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"{where} answered with an error ({_reply(exc.smtp_code, exc.smtp_error)})."
    elif isinstance(exc, smtplib.SMTPException):
        text = f"{where} broke off: {exc}."
    elif isinstance(exc, socket.gaierror):
        text = f"The server name {host} was not found."
    elif isinstance(exc, TimeoutError):
        text = f"{host}:{port} did not answer in {_timeout()} s."
    elif isinstance(exc, ssl.SSLError):
        text = f"The secure connection to {host} failed: {exc.reason or exc}."
    else:
        text = f"Could not connect to {host}:{port} ({getattr(exc, 'strerror', None) or exc})."
    return ValidationError(f"Not sent: {text}")


def _via_own_server(mailbox: Mailbox, msg: _Wire, *, envelope: str, recipients: list[str]):
    """Send through the member's SMTP server; the recipients it refused, {address: (code,
    reply)}, when it took the message for the others."""
    try:
        password = secrets.decrypt(mailbox.password_encrypted)
    except secrets.UnreadableSecret as exc:
        raise ValidationError(f"Not sent: {exc}") from exc
    host, port, security = mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security
    where = f"Your mail server {host}"
    try:
        if security == Security.SSL:
            server = smtplib.SMTP_SSL(host, port, timeout=_timeout(), context=_tls())
        else:
            server = smtplib.SMTP(host, port, timeout=_timeout())
        with server:
            if security == Security.STARTTLS:
                server.starttls(context=_tls())
            server.ehlo_or_helo_if_needed()
            if server.has_extn("auth"):
                server.login(mailbox.username, password)
            return server.sendmail(envelope, recipients, msg.as_bytes())
    except (smtplib.SMTPException, OSError) as exc:
        raise _failure(exc, where, host, port) from exc


class _Prepared(DjangoMessage):
    """The built message for Django's backends: SMTP, file and console ones send its
    bytes as they are (message()); others (an e-mail API) read the usual attributes."""

    def __init__(self, msg: _Wire, *, envelope: str, recipients: Recipients) -> None:
        headers = {h: str(msg[h]) for h in ("From", "Sender", "Date", "Message-ID") if msg[h]}
        super().__init__(
            subject=str(msg["Subject"]),
            body=msg.get_content(),
            from_email=envelope,
            to=[str(a) for a in recipients.to],
            cc=[str(a) for a in recipients.cc],
            headers=headers,
        )
        self.built = msg

    def message(self, **kwargs) -> _Wire:
        return self.built


def _via_workspace(msg: _Wire, *, envelope: str, recipients: Recipients) -> dict:
    host, port = settings.EMAIL_HOST, settings.EMAIL_PORT
    where = "The workspace's mail server"
    try:
        with get_connection(fail_silently=False, timeout=_timeout()) as connection:
            sent = connection.send_messages(
                [_Prepared(msg, envelope=envelope, recipients=recipients)]
            )
    except (smtplib.SMTPException, OSError) as exc:
        raise _failure(exc, where, host, port) from exc
    if not sent:
        raise ValidationError(f"Not sent: {where} did not take the message.")
    return {}


# The service


def _logged_on(
    contact: Contact | None, deal: Deal | None, recipients: Recipients, by: User
) -> Contact | None:
    """The contact the activity goes on when no recipient is a contact: the one composed
    on, or the deal's primary contact. Refuses, before anything is sent, an e-mail Keel
    could not log."""
    if contact is not None:
        return contact
    people = set(recipients.all) - internal_addresses() - {by.email.lower()}
    if people and contacts_by_email(people).exists():
        return None  # capture() finds them
    if deal.primary_contact_id:
        return deal.primary_contact
    if deal.organization_id:
        return None  # capture() logs it on the deal's organization
    raise ValidationError(
        "None of the recipients is a contact and the deal has no contact or organization "
        "to log the e-mail on: add the person as a contact first."
    )


def send_email(
    *,
    by: User,
    to: str | Sequence[str],
    cc: str | Sequence[str] = "",
    subject: str,
    body: str,
    contact: Contact | None = None,
    deal: Deal | None = None,
) -> EmailMessage:
    """Send an e-mail composed on `contact` or `deal` now, and log it at once as an
    outgoing e-mail activity (on the contact, the deal, and whoever else it is with),
    threaded with the replies sync brings back.

    Refuses (ValidationError, keyed by field where it is one field's fault; nothing
    sent, nothing written): an address that is not one, no recipient, a merge field that
    is unknown or has no value, a server that is down or refuses the login, the sender
    or every recipient. Recipients the server refused while taking the message for the
    others are listed in the kept message's notes.
    """
    if contact is None and deal is None:
        raise ValueError("An e-mail is composed on a contact or a deal.")
    person = contact or (deal.primary_contact if deal is not None else None)
    route = route_for(by)
    recipients = parse_recipients(to, cc)
    subject, body = subject.strip(), body.rstrip()
    errors = {}
    if not subject:
        errors["subject"] = ["Give the e-mail a subject."]
    if not body.strip():
        errors["body"] = ["Write the e-mail."]
    if errors:
        raise ValidationError(errors)
    values = merge_values(contact=person, deal=deal, sender=by, route=route)
    merged = merge_both(subject, body, values)
    if len(merged.subject) > SUBJECT_MAX or len(merged.body) > BODY_MAX:
        raise ValidationError(
            f"Too long: at most {SUBJECT_MAX} characters of subject and {BODY_MAX:,} of text."
        )
    logged_on = _logged_on(contact, deal, recipients, by)
    msg = _build(route, recipients, merged)
    envelope = _envelope(route)
    if route.own_server:
        refused = _via_own_server(route.mailbox, msg, envelope=envelope, recipients=recipients.all)
    else:
        refused = _via_workspace(msg, envelope=envelope, recipients=recipients)
    return _log(msg, by=by, route=route, contact=logged_on, deal=deal, refused=refused)


def _log(msg: _Wire, *, by, route: Route, contact, deal, refused: dict) -> EmailMessage:
    """Keep exactly what was sent, as capture() keeps what sync finds."""
    private = route.mailbox is not None and route.mailbox.is_private
    with transaction.atomic():
        kept = capture(
            parse(msg.as_bytes()),
            owner=by,
            source=EmailMessage.Source.SENT,
            outgoing=True,
            private=private,
            contact=contact,
            deal=deal,
        )
        message = kept.message  # _logged_on made sure there is a record to log it on
        if refused:
            message.notes = [
                *message.notes,
                *(f"Not delivered to {a}: {_reply(*r)}." for a, r in refused.items()),
            ]
            message.save(update_fields=["notes"])
        record_event(
            actor=by,
            verb="email.sent",
            target=message,
            changes={
                "to": [None, [p["address"] for p in message.to]],
                "cc": [None, [p["address"] for p in message.cc]],
                "subject": [None, message.subject],
                "via": [None, route.mailbox.smtp_host if route.own_server else "workspace"],
            },
        )
    return message
