"""Merge fields in an e-mail's subject and text: which there are, how they are written,
and filling them in. Pure text work: the values come from the caller
(`mail.services.sending.merge_values` reads them from the records).

Merge fields (`{{ contact.first_name }}`, `{{ deal.amount|default:"a fair price" }}`)
are substituted from a whitelist of plain values, never by Django's template engine
over model objects (a template author could reach `contact.organization.tenant` and
more). A field not on the list is refused by name; a field with no value here is refused
unless it names a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

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


def merge(text: str, values: dict[str, str]) -> str:
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


def merge_both(subject: str, body: str, values: dict[str, str]) -> Merged:
    """Subject and body merged, the errors keyed by the one they are in."""
    errors: dict[str, list[str]] = {}
    merged = {}
    for name, text in (("subject", subject), ("body", body)):
        try:
            merged[name] = merge(text, values)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return Merged(subject=" ".join(merged["subject"].split()), body=merged["body"])
