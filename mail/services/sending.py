"""Sending from Keel: an e-mail composed on a contact or a deal, with merge fields, sent
through the member's own SMTP server or the workspace's, and logged at once.

Merge fields (`{{ contact.first_name }}`, `{{ deal.amount|default:"a fair price" }}`)
are substituted from a whitelist of plain values, never by Django's template engine
over model objects (a template author could reach `contact.organization.tenant` and
more). A field not on the list is refused by name; a field with no value here is refused
unless it names a default.

The message is built once (the standard library's `email`), and its bytes are what the
server receives and what `capture()` keeps: a reply's In-Reply-To names our Message-ID,
so the sync threads it with the sent message.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage as StdMessage
from email.utils import format_datetime, make_msgid, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage as DjangoMessage
from django.core.mail import get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from contacts.models import Contact
from contacts.selectors import contacts_by_email
from crm.audit import record_event
from crm.models import User
from crm.money import format_money
from crm.tenancy import current_tenant
from mail import secrets
from mail.models import EmailMessage, EmailTemplate, Mailbox
from mail.models.mailboxes import Security
from mail.parsing import parse
from mail.services.capture import capture, internal_addresses
from pipeline.models import Deal

SUBJECT_MAX = 300
BODY_MAX = 100_000
MAX_RECIPIENTS = 50
SMTP_TIMEOUT = 30  # seconds, unless EMAIL_TIMEOUT says otherwise

MERGE_FIELDS: dict[str, str] = {
    "contact.first_name": "the contact's first name",
    "contact.last_name": "the contact's last name",
    "contact.full_name": "the contact's full name",
    "contact.email": "the contact's e-mail address",
    "organization.name": "the organization (the deal's, else the contact's)",
    "deal.name": "the deal's name",
    "deal.amount": "the deal's amount, in the workspace's currency",
    "sender.first_name": "your first name",
    "sender.full_name": "your full name",
    "sender.email": "the address the e-mail is sent from",
}
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_FIELD = re.compile(r'\s*([a-z_]+\.[a-z_]+)\s*(?:\|\s*default\s*:\s*"([^"{}]*)"\s*)?')


@dataclass(frozen=True)
class Merged:
    subject: str
    body: str


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
    return Route(sender=_address(user.full_name, address.lower()), mailbox=mailbox)


# Merge fields


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


def unknown_fields(text: str) -> list[str]:
    """The placeholders in `text` that are not merge fields, as written."""
    found = []
    for match in _PLACEHOLDER.finditer(text):
        field = _FIELD.fullmatch(match.group(1))
        if field is None or field.group(1) not in MERGE_FIELDS:
            found.append(match.group(0))
    return list(dict.fromkeys(found))


def unknown_message(unknown: list[str]) -> str:
    known = ", ".join(f"{{{{ {name} }}}}" for name in MERGE_FIELDS)
    return (
        f"Unknown merge field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}. "
        f"Use one of {known}."
    )


def _merge(text: str, values: dict[str, str]) -> str:
    """`text` with its merge fields filled in; ValidationError naming any unknown one or
    one with no value here (and no default)."""
    unknown = unknown_fields(text)
    if unknown:
        raise ValidationError(unknown_message(unknown))
    missing: list[str] = []

    def fill(match: re.Match) -> str:
        name, default = _FIELD.fullmatch(match.group(1)).groups()
        if values.get(name):
            return values[name]
        if default is not None:
            return default
        missing.append(name)
        return ""

    merged = _PLACEHOLDER.sub(fill, text)  # inserted values are never read again
    if missing:
        names = list(dict.fromkeys(missing))
        example = names[0]
        raise ValidationError(
            f"{', '.join(f'{{{{ {n} }}}}' for n in names)} "
            f"{'have' if len(names) > 1 else 'has'} no value for this e-mail. Remove "
            f"{'them' if len(names) > 1 else 'it'} or give a default, as in "
            f'{{{{ {example}|default:"…" }}}}.'
        )
    return merged


def _merge_both(subject: str, body: str, values: dict[str, str]) -> Merged:
    errors: dict[str, list[str]] = {}
    merged = {}
    for name, text in (("subject", subject), ("body", body)):
        try:
            merged[name] = _merge(text, values)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return Merged(subject=" ".join(merged["subject"].split()), body=merged["body"])


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
        return _merge_both(template_or_text.subject, template_or_text.body, values)
    return _merge(template_or_text, values)


# Addresses


def _address(name: str, address: str) -> Address:
    return Address(display_name=" ".join(name.split()), addr_spec=address)


def _pieces(text: str) -> list[str]:
    """ "Ana <a@x.test>; "Ruiz, B" <b@y.test>" → one piece per address (separators
    inside quotes or angle brackets do not split)."""
    pieces, current, quoted, angle = [], [], False, False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char in "<>" and not quoted:
            angle = char == "<"
        elif char in ",;\r\n" and not quoted and not angle:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return [p.strip() for p in pieces if p.strip()]


def parse_addresses(value: str | Sequence[str]) -> list[Address]:
    """Addresses as typed (commas or semicolons between them, names optional); a
    ValidationError naming each one that is not an e-mail address."""
    text = value if isinstance(value, str) else ", ".join(value)
    found, bad = [], []
    for piece in _pieces(text):
        name, address = parseaddr(piece)
        address = address.strip().lower()
        try:
            validate_email(address)
            address.encode("ascii")
            found.append(_address(name, address))
        except (ValidationError, UnicodeError, ValueError, HeaderParseError):
            bad.append(piece)
    if bad:
        raise ValidationError(
            "; ".join(f"“{piece}” is not an e-mail address Keel can send to." for piece in bad)
        )
    return found


@dataclass(frozen=True)
class Recipients:
    to: list[Address]
    cc: list[Address]

    @property
    def all(self) -> list[str]:
        return [a.addr_spec for a in [*self.to, *self.cc]]


def _recipients(to: str | Sequence[str], cc: str | Sequence[str]) -> Recipients:
    errors: dict[str, list[str]] = {}
    parsed: dict[str, list[Address]] = {}
    for name, value in (("to", to), ("cc", cc)):
        try:
            parsed[name] = parse_addresses(value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if not errors and not parsed["to"]:
        errors["to"] = ["Add at least one recipient."]
    if errors:
        raise ValidationError(errors)
    seen: set[str] = set()
    out: dict[str, list[Address]] = {"to": [], "cc": []}
    for name in ("to", "cc"):
        for address in parsed[name]:
            if address.addr_spec not in seen:
                seen.add(address.addr_spec)
                out[name].append(address)
    if len(seen) > MAX_RECIPIENTS:
        raise ValidationError({"to": f"At most {MAX_RECIPIENTS} recipients in one e-mail."})
    return Recipients(**out)


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
    recipients = _recipients(to, cc)
    subject, body = subject.strip(), body.rstrip()
    errors = {}
    if not subject:
        errors["subject"] = ["Give the e-mail a subject."]
    if not body.strip():
        errors["body"] = ["Write the e-mail."]
    if errors:
        raise ValidationError(errors)
    values = merge_values(contact=person, deal=deal, sender=by, route=route)
    merged = _merge_both(subject, body, values)
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
