"""A forward written into the body ("inline"): the header block a mail program puts above
the forwarded text, read back so that the original sender is recognised.

What is recognised (each has a test in tests/mail/test_inbound.py):
- Gmail: "---------- Forwarded message ---------", then From:, Date:, Subject:, To:, Cc:;
- Outlook: "-----Original Message-----" or a line of underscores, then From:, Sent:, To:,
  Cc:, Subject: (older versions write "Name [mailto:address]" and separate with ";"; in
  German Von:/Gesendet:/An:/Betreff:, in French De:/Envoyé:/À:/Objet:);
- Apple Mail: "Begin forwarded message:", then From:, Subject:, Date:, To:;
- Thunderbird: "-------- Forwarded Message --------" or "-------- Original Message --------".
The names may be bold in a text made from HTML ("*From:* …") and the block quoted ("> ").
A message with HTML only is read through its HTML, with its line breaks kept.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import getaddresses

import nh3

from mail.parsing import SUBJECT_MAX, Parsed, Person, is_address, thread_subject

_MARKER = re.compile(
    r"^(?P<quote>(?:>[ \t]?)*)[ \t]*(?:"
    r"-{2,}[ \t]*(?:forwarded message|original message|weitergeleitete nachricht"
    r"|ursprüngliche nachricht|message transféré|message d'origine)[ \t]*-{2,}"
    r"|begin forwarded message:|anfang der weitergeleiteten e-mail:"
    r"|début du message réexpédié[ \t]*:"
    r"|_{20,}"
    r")[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_FIELD = re.compile(
    r"^\*?[ \t]*(?P<name>[^\W\d_][\w -]{0,15}?)[ \t]*\*?[ \t]*:[ \t]*\*?[ \t]*(?P<value>.*?)[ \t]*$"
)
FIELDS = {
    "from": "from", "von": "from", "de": "from",
    "date": "date", "sent": "date", "datum": "date", "gesendet": "date", "envoyé": "date",
    "to": "to", "an": "to", "à": "to",
    "cc": "cc", "kopie": "cc",
    "subject": "subject", "betreff": "subject", "objet": "subject",
}  # fmt: skip
HEADER_LINES_MAX = 20
_MAILTO = re.compile(r"\[mailto:([^\]\s]+)\]", re.IGNORECASE)
_BLOCK_END = re.compile(r"<br\s*/?>|</(?:p|div|tr|li|h\d|blockquote|table)>", re.IGNORECASE)


def inline_forward(parsed: Parsed, *, tz: tzinfo) -> Parsed | None:
    """The message forwarded in `parsed`'s body, or None when there is none (or its header
    block names no sender). Dates without a zone are read in `tz`."""
    for text in _texts(parsed):
        for marker in _MARKER.finditer(text):
            found = _read(text[marker.end() :], quote=marker["quote"], outer=parsed, tz=tz)
            if found is not None:
                return found
    return None


def _texts(parsed: Parsed) -> list[str]:
    texts = [parsed.text] if parsed.text else []
    if parsed.html:
        # Tags go, the lines they made stay: "From: …<br>Date: …" keeps one field a line.
        plain = nh3.clean(_BLOCK_END.sub("\n", parsed.html), tags=set())
        texts.append(html_lib.unescape(plain))
    # A message off the wire keeps its CRLFs in the text.
    return [t.replace("\r\n", "\n").replace("\r", "\n") for t in texts]


def _unquote(line: str, quote: str) -> str:
    depth = quote.count(">")
    for _ in range(depth):
        stripped = line.lstrip(" \t")
        if not stripped.startswith(">"):
            break
        line = stripped[1:]
        if line.startswith(" "):
            line = line[1:]
    return line


def _read(rest: str, *, quote: str, outer: Parsed, tz: tzinfo) -> Parsed | None:
    lines = [_unquote(line, quote).rstrip() for line in rest.splitlines()]
    fields: dict[str, str] = {}
    last = ""
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1  # a blank line after the marker (Apple Mail)
    start = i
    while i < len(lines) and lines[i].strip() and i - start < HEADER_LINES_MAX:
        match = _FIELD.match(lines[i].strip())
        if match:
            last = FIELDS.get(match["name"].lower().strip(), "")
            if last and last not in fields:
                fields[last] = match["value"]
            elif last:
                last = ""  # a second From: belongs to something else
        elif last:
            fields[last] += " " + lines[i].strip()  # a long To: or Subject: wrapped
        i += 1
    senders = people(fields.get("from", ""))
    if not senders:
        return None
    body = "\n".join(lines[i:]).strip()
    return _original(fields, senders[0], body=body, outer=outer, tz=tz)


def _original(
    fields: dict[str, str], sender: Person, *, body: str, outer: Parsed, tz: tzinfo
) -> Parsed:
    problems = []
    sent_at = read_date(fields.get("date", ""), tz=tz)
    if sent_at is None:
        problems.append("The forwarded message's date could not be read; the forward's is used.")
    subject = " ".join(fields.get("subject", "").split()) or thread_subject(outer.subject)
    # No Message-ID survives an inline forward: the same forward delivered again gets the
    # same one, so it is kept once.
    key = "\x00".join([sender.address, fields.get("date", ""), subject, " ".join(body.split())])
    digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:40]
    return Parsed(
        message_id=f"keel-fwd-{digest}@forwarded",
        in_reply_to="",
        references=[],
        sender=sender,
        to=people(fields.get("to", "")),
        cc=people(fields.get("cc", "")),
        subject=subject[:SUBJECT_MAX],
        sent_at=sent_at or outer.sent_at,
        text=body,
        html="",
        attachments=list(outer.attachments),
        calendars=list(outer.calendars),
        problems=problems,
    )


def people(value: str) -> list[Person]:
    """The addresses in a From:/To:/Cc: line as mail programs write them when forwarding."""
    value = _MAILTO.sub(r"<\1>", value).replace(";", ",")
    found = []
    for name, address in getaddresses([value]):
        address = address.strip().lower()
        if is_address(address):
            found.append(Person(name=name.strip(" \"'")[:200], address=address[:320]))
    return found


# Dates as mail programs print them: "Tue, Dec 1, 2026 at 10:00 AM" (Gmail), "Tuesday,
# December 1, 2026 10:00 AM" (Outlook), "1 December 2026 at 10:00:00 GMT+1" (Apple Mail),
# "Tue, 1 Dec 2026 10:00:00 +0100" (Thunderbird), "Dienstag, 1. Dezember 2026 10:00".
MONTHS = [
    (("january", "januar", "janvier"), 1),
    (("february", "februar", "février", "fevrier"), 2),
    (("march", "märz", "maerz", "mars"), 3),
    (("april", "avril"), 4),
    (("may", "mai"), 5),
    (("june", "juni", "juin"), 6),
    (("july", "juli", "juillet"), 7),
    (("august", "août", "aout"), 8),
    (("september", "septembre"), 9),
    (("october", "oktober", "octobre"), 10),
    (("november", "novembre"), 11),
    (("december", "dezember", "décembre", "decembre"), 12),
]
ZONES = {
    "bst": 1, "cet": 1, "cest": 2, "eet": 2, "eest": 3, "ist": 5.5, "jst": 9,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}  # fmt: skip
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?\s?m\b\.?)?", re.IGNORECASE)
_NAMED_OFFSET = re.compile(r"\b(?:gmt|utc)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_OFFSET = re.compile(r"(?<![\w:])([+-])(\d{2}):?(\d{2})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _month(word: str) -> int | None:
    word = word.rstrip(".").lower()
    if len(word) < 3:
        return None
    return next((n for names, n in MONTHS if any(name.startswith(word) for name in names)), None)


def _zone(text: str) -> tuple[tzinfo | None, str]:
    if match := _NAMED_OFFSET.search(text):
        minutes = int(match[2]) * 60 + int(match[3] or 0)
        sign = -1 if match[1] == "-" else 1
        return timezone(sign * timedelta(minutes=minutes)), _NAMED_OFFSET.sub(" ", text)
    if match := _OFFSET.search(text):
        sign = -1 if match[1] == "-" else 1
        offset = timedelta(hours=int(match[2]), minutes=int(match[3]))
        return timezone(sign * offset), _OFFSET.sub(" ", text)
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in ("gmt", "utc", "z"):
            return UTC, text
        if word in ZONES:
            return timezone(timedelta(hours=ZONES[word])), text
    return None, text


def read_date(value: str, *, tz: tzinfo) -> datetime | None:
    """The moment a forward's Date:/Sent: line names, or None when it names none."""
    text = value.strip()
    zone, text = _zone(text)
    time = _TIME.search(text)
    hour = minute = second = 0
    if time:
        hour, minute, second = int(time[1]), int(time[2]), int(time[3] or 0)
        if time[4] and time[4].lower() == "p" and hour < 12:
            hour += 12
        elif time[4] and time[4].lower() == "a" and hour == 12:
            hour = 0
        text = text[: time.start()] + " " + text[time.end() :]
    if iso := _ISO.search(text):
        year, month, day = int(iso[1]), int(iso[2]), int(iso[3])
    else:
        months = [m for m in map(_month, re.findall(r"[^\W\d_]+\.?", text)) if m]
        years = re.findall(r"\b(\d{4})\b", text)
        days = re.findall(r"\b(\d{1,2})\b\.?", text)
        if not (months and years and days):
            return None
        year, month, day = int(years[0]), months[-1], int(days[0])
    try:
        naive = datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - zone below
    except ValueError:
        return None
    return naive.replace(tzinfo=zone) if zone else naive.replace(tzinfo=tz)
