"""E-mail addresses as a member types them on the compose page (names optional, commas
or semicolons between them), read into the standard library's `Address`es."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import parseaddr

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_RECIPIENTS = 50


def named_address(name: str, address: str) -> Address:
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
            found.append(named_address(name, address))
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


def parse_recipients(to: str | Sequence[str], cc: str | Sequence[str]) -> Recipients:
    """An e-mail's To and Cc as typed, each address once (To first); a ValidationError
    keyed by field for a bad address, no recipient, or more than MAX_RECIPIENTS."""
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
