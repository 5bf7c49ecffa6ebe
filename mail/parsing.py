"""From raw RFC 5322 bytes to what Keel keeps, with the standard library's parser
(`email.policy.default`) and nh3 for HTML. Never raises on bad input: a header that does
not parse is read as text, a part that does not decode is skipped and said so."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage as StdMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

import nh3

SUBJECT_MAX = 300
MESSAGE_ID_MAX = 500
_ID = re.compile(r"<([^<>\s]+)>")
_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# What survives in HTML: text formatting, links and tables; no script, style, form or
# image fetched from elsewhere (trackers), no attribute that runs code.
HTML_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i",
    "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "u", "ul",
}  # fmt: skip


@dataclass(frozen=True)
class Person:
    name: str
    address: str  # lower-cased

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    payload: bytes


@dataclass
class Parsed:
    message_id: str
    in_reply_to: str
    references: list[str]
    sender: Person | None
    to: list[Person]
    cc: list[Person]
    subject: str
    sent_at: datetime
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)
    calendars: list[bytes] = field(default_factory=list)
    # Set when the message carries a forwarded one (an attached message/rfc822).
    forwarded: Parsed | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def people(self) -> list[Person]:
        return [p for p in [self.sender, *self.to, *self.cc] if p is not None]


def thread_subject(subject: str) -> str:
    """ "Re: Fwd: Pricing" → "Pricing"."""
    return _PREFIX.sub("", subject).strip()


def _header(msg: StdMessage, name: str, problems: list[str]) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a header the parser cannot read is kept as text
        problems.append(f"The {name} header could not be read.")
        raw = msg.get_all(name, failobj=[]) if hasattr(msg, "get_all") else []
        return str(raw[0]) if raw else ""
    return "" if value is None else str(value)


def _ids(value: str) -> list[str]:
    return [m[:MESSAGE_ID_MAX] for m in _ID.findall(value or "")]


def _people(msg: StdMessage, name: str, problems: list[str]) -> list[Person]:
    values = []
    try:
        values = [str(v) for v in msg.get_all(name, failobj=[])]
    except Exception:  # noqa: BLE001
        problems.append(f"The {name} header could not be read.")
    found = []
    for display, address in getaddresses(values):
        address = address.strip().lower()
        if is_address(address):
            found.append(Person(name=display.strip()[:200], address=address[:320]))
    return found


def is_address(value: str) -> bool:
    """Whether `value` is one e-mail address (a name and a domain), as mail writes them."""
    if "@" not in value:
        return False
    try:
        Address(addr_spec=value)
    except Exception:  # noqa: BLE001 - the header registry raises several kinds
        return False
    return True


def _date(msg: StdMessage, problems: list[str]) -> datetime | None:
    raw = _header(msg, "Date", problems)
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        problems.append("The Date header could not be read.")
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def clean_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=HTML_TAGS,
        attributes={"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    ).strip()


def _content(part: StdMessage, problems: list[str]) -> str | bytes | None:
    try:
        return part.get_content()
    except (LookupError, ValueError, AssertionError, KeyError):
        problems.append(f"A {part.get_content_type()} part could not be decoded.")
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and part.get_content_maintype() == "text":
            return payload.decode("utf-8", errors="replace")
        return payload if isinstance(payload, bytes) else None


def _walk(msg: StdMessage, parsed: Parsed) -> None:
    texts, htmls = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        if ctype == "message/rfc822" or (ctype.startswith("message/") and part.is_attachment()):
            continue
        if ctype == "text/calendar":
            body = part.get_payload(decode=True)
            if isinstance(body, bytes):
                parsed.calendars.append(body)
            continue
        if disposition != "attachment" and ctype in ("text/plain", "text/html"):
            content = _content(part, parsed.problems)
            if isinstance(content, str):
                # Mail travels with CRLF line ends (IMAP, SMTP); Keel stores plain newlines.
                content = content.replace("\r\n", "\n")
                (texts if ctype == "text/plain" else htmls).append(content)
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        filename = part.get_filename() or f"attachment.{part.get_content_subtype()}"
        parsed.attachments.append(Attachment(filename[:255], ctype[:200], payload))
    parsed.text = "\n\n".join(t.strip() for t in texts if t.strip())
    parsed.html = clean_html("\n".join(htmls)) if htmls else ""
    if not parsed.text and parsed.html:
        parsed.text = nh3.clean(parsed.html, tags=set()).strip()


def _forwarded(msg: StdMessage) -> StdMessage | None:
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                return inner[0]
    return None


def message_key(raw: bytes) -> str:
    """The Message-ID of a message that has none: the same bytes give the same id."""
    return f"keel-{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id"


def _parse_message(msg: StdMessage, raw: bytes, *, depth: int = 0) -> Parsed:
    problems: list[str] = []
    ids = _ids(_header(msg, "Message-ID", problems))
    senders = _people(msg, "From", problems)
    subject = " ".join(_header(msg, "Subject", problems).split())[:SUBJECT_MAX]
    parsed = Parsed(
        message_id=ids[0] if ids else message_key(raw),
        in_reply_to=(_ids(_header(msg, "In-Reply-To", problems)) or [""])[0],
        references=_ids(_header(msg, "References", problems))[-20:],
        sender=senders[0] if senders else None,
        to=_people(msg, "To", problems),
        cc=_people(msg, "Cc", problems),
        subject=subject,
        sent_at=_date(msg, problems) or datetime.now(UTC),
        text="",
        html="",
        problems=problems,
    )
    _walk(msg, parsed)
    inner = _forwarded(msg) if depth == 0 else None
    if inner is not None:
        parsed.forwarded = _parse_message(inner, inner.as_bytes(), depth=1)
    return parsed


def parse(raw: bytes) -> Parsed:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    parsed = _parse_message(msg, raw)
    if msg.defects:
        parsed.problems.append("The message is malformed; what could be read was kept.")
    return parsed
