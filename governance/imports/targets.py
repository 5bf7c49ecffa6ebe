"""What a column can be imported into, per kind, and the mapping suggested from its header.

Targets are the built-in fields below plus the tenant's custom fields as `custom:<key>`
(labelled with their label), so a new custom field can be imported at once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from crm import custom_fields

CUSTOM = "custom:"
KIND_RECORD_TYPE = {"contacts": "contact", "organizations": "organization", "deals": "deal"}


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    synonyms: tuple[str, ...] = ()
    help: str = ""


BUILT_IN: dict[str, list[Target]] = {
    "contacts": [
        Target("first_name", "First name", ("first", "firstname", "given name", "vorname", "prenom", "forename")),
        Target("last_name", "Last name", ("last", "lastname", "surname", "family name", "nachname", "nom")),
        Target("full_name", "Full name (split into first and last)", ("name", "full name", "contact", "contact name", "person")),
        Target("email", "E-mail", ("email", "e-mail", "mail", "email address", "e-mail address", "e-mail-adresse", "emailadresse")),
        Target("phone", "Phone", ("phone", "telephone", "tel", "telefon", "mobile", "cell", "phone number", "handy")),
        Target("job_title", "Job title", ("title", "job title", "position", "role", "funktion", "jobtitle")),
        Target("organization", "Organization (by name; created if missing)", ("company", "organization", "organisation", "account", "firma", "unternehmen", "employer", "company name")),
        Target("lead_source", "Lead source", ("source", "lead source", "quelle", "channel", "origin")),
        Target("lifecycle", "Lifecycle stage", ("lifecycle", "lifecycle stage", "stage", "status", "type")),
        Target("preferred_channel", "Preferred channel", ("preferred channel",)),
        Target("owner", "Owner (member's e-mail or name)", ("owner", "contact owner", "account owner", "sales rep", "rep", "assigned to", "besitzer", "betreuer")),
    ],
    "organizations": [
        Target("name", "Name", ("name", "company", "organization", "organisation", "account", "company name", "firma", "account name")),
        Target("domain", "Domain", ("domain", "email domain")),
        Target("website", "Website", ("website", "web", "url", "homepage", "site", "webseite")),
        Target("phone", "Phone", ("phone", "telephone", "tel", "telefon", "phone number")),
        Target("industry", "Industry", ("industry", "sector", "branche", "vertical")),
        Target("size_band", "Company size", ("size", "company size", "employees", "headcount", "size band")),
        Target("revenue_range", "Annual revenue", ("revenue", "annual revenue", "turnover", "umsatz")),
        Target("lifecycle", "Lifecycle", ("lifecycle", "status", "type")),
        Target("owner", "Owner (member's e-mail or name)", ("owner", "account owner", "sales rep", "rep", "assigned to")),
        Target("street", "Street", ("street", "address", "strasse", "straße", "address line 1")),
        Target("postal_code", "Postal code", ("postal code", "zip", "zip code", "postcode", "plz")),
        Target("city", "City", ("city", "town", "ort", "stadt")),
        Target("region", "State or region", ("state", "region", "province", "bundesland", "county")),
        Target("country", "Country", ("country", "land", "country name")),
    ],
    "deals": [
        Target("name", "Deal name", ("name", "deal", "deal name", "opportunity", "title")),
        Target("organization", "Organization (by name or domain)", ("company", "organization", "organisation", "account", "firma")),
        Target("primary_contact", "Primary contact (e-mail)", ("contact", "contact email", "primary contact", "email")),
        Target("pipeline", "Pipeline (by name)", ("pipeline",)),
        Target("stage", "Stage (by name)", ("stage", "deal stage", "phase")),
        Target("owner", "Owner (member's e-mail or name)", ("owner", "deal owner", "sales rep", "rep", "assigned to")),
        Target("amount", "Amount", ("amount", "value", "deal value", "betrag", "volume")),
        Target("currency", "Currency", ("currency", "waehrung", "währung")),
        Target("expected_close", "Expected close date", ("close date", "expected close", "expected close date", "closing date")),
        Target("source", "Source", ("source", "lead source")),
        Target("budget", "Budget", ("budget",)),
        Target("authority", "Decision maker", ("decision maker", "authority")),
        Target("need", "Need", ("need", "pain")),
        Target("timeline", "Buying timeline", ("timeline", "buying timeline")),
        Target("contract_start", "Contract start", ("contract start", "start date")),
        Target("contract_end", "Contract end", ("contract end", "end date")),
    ],
}  # fmt: skip


def targets(kind: str) -> list[Target]:
    """Built-in targets then the tenant's custom fields for `kind`."""
    record_type = KIND_RECORD_TYPE[kind]
    custom = [
        Target(
            CUSTOM + d.key,
            f"{d.label} (custom)",
            (d.label, d.key.replace("_", " ")),
        )
        for d in custom_fields.definitions(record_type)
    ]
    return [*BUILT_IN[kind], *custom]


def _norm(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


def suggest(kind: str, headers: list[str]) -> dict[str, str]:
    """{column index: target} for the headers that name a target (each target once).

    Custom fields win over built-in synonyms ("Decision maker" is the custom field when
    the tenant has one); an exact header match wins over a synonym.
    """
    all_targets = targets(kind)
    ordered = [t for t in all_targets if t.name.startswith(CUSTOM)] + [
        t for t in all_targets if not t.name.startswith(CUSTOM)
    ]
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        wanted = _norm(header)
        if not wanted:
            continue
        for target in ordered:
            names = {_norm(target.name), _norm(target.label), *(_norm(s) for s in target.synonyms)}
            if wanted in names and target.name not in taken:
                mapping[str(index)] = target.name
                taken.add(target.name)
                break
    # "Name" means the full name unless first and last name have columns of their own.
    if kind == "contacts" and {"first_name", "full_name"} <= taken:
        mapping = {i: t for i, t in mapping.items() if t != "full_name"}
    return mapping
