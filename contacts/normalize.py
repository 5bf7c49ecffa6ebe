"""Keys that make likely duplicates collide (organization names, domains, e-mail addresses),
and the normal forms values are saved in (phone numbers in E.164, web addresses)."""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.timezone import TIMEZONE_DATA

# Legal forms dropped from the end of a name, so "Acme Corp", "ACME Corporation" and
# "Acme, Inc." share the key "acme". Only trailing words: "Corp Solutions" stays intact.
LEGAL_FORMS = {
    "ab", "ag", "aps", "as", "asa", "bv", "bvba", "co", "company", "corp", "corporation",
    "cv", "eg", "ev", "gbr", "gmbh", "inc", "incorporated", "kg", "kgaa", "kk", "lda",
    "limited", "llc", "llp", "lp", "ltd", "ltda", "mbh", "nv", "ohg", "oy", "oyj", "plc",
    "pte", "pty", "sa", "sag", "sarl", "sas", "se", "spa", "sl", "srl", "ug",
}  # fmt: skip
_DOMAIN_RE = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)


def _ascii_fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def organization_name_key(name: str) -> str:
    """Lower case, no accents, punctuation or legal form, no spaces: "Acme, Inc." -> "acme"."""
    text = _ascii_fold(name).lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    words = text.split()
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    # "S.A." and "G.m.b.H." arrive as single letters: join trailing single letters first.
    while len(words) > 1 and len(words[-1]) == 1:
        tail = []
        while len(words) > 1 and len(words[-1]) == 1:
            tail.insert(0, words.pop())
        joined = "".join(tail)
        if joined not in LEGAL_FORMS:
            words.extend(tail)
            break
    # "and" too: "Smith & Co." -> "smith and co" -> "smith"; "GmbH & Co. KG" goes whole.
    while len(words) > 1 and (words[-1] in LEGAL_FORMS or words[-1] == "and"):
        words.pop()
    return "".join(words)[:200]


def normalize_domain(value: str) -> str:
    """A bare host name in lower case: "https://www.Acme.com/about" -> "acme.com"."""
    value = (value or "").strip().lower()
    if not value:
        return ""
    if "@" in value and "/" not in value:  # an e-mail address
        value = value.rsplit("@", 1)[1]
    if "://" not in value:
        value = "//" + value
    if not is_web_address(value):
        return value.removeprefix("//")  # not a host name: is_valid_domain() refuses it
    host = urlsplit(value).hostname or ""
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host


def is_web_address(value: str) -> bool:
    """Whether the standard library can read it as an address: a stray "[" or "]", or a
    port that is not a number, make urlsplit() raise."""
    try:
        urlsplit(value).port  # noqa: B018 (reading the port is the check)
    except ValueError:
        return False
    return True


def is_valid_domain(domain: str) -> bool:
    return bool(_DOMAIN_RE.match(domain)) and len(domain) <= 253


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


@functools.lru_cache(maxsize=64)
def region_for_time_zone(time_zone: str) -> str | None:
    """The country whose numbers a tenant in `time_zone` writes without a country code
    ("Europe/Berlin" -> "DE"), from the system's zone table; else from phonenumbers' own
    data when the zone belongs to one calling code only; else None."""
    for folder in zoneinfo.TZPATH:
        table = Path(folder) / "zone.tab"
        if table.exists():
            for line in table.read_text(encoding="utf-8").splitlines():
                fields = line.split("\t")
                if len(fields) >= 3 and not line.startswith("#") and fields[2] == time_zone:
                    return fields[0]
            break
    codes = {
        int(prefix)
        for prefix, zones in TIMEZONE_DATA.items()
        if time_zone in zones and len(prefix) <= 3 and int(prefix) in COUNTRY_CODE_TO_REGION_CODE
    }
    if len(codes) != 1:
        return None
    return phonenumbers.region_code_for_country_code(codes.pop())


@functools.lru_cache(maxsize=4096)
def normalize_phone(value: str, *, region: str | None = None) -> str:
    """E.164 ("+49301234567", with " ext. 12" when there is one) for a number phonenumbers
    can read as a possible number, written with its country code or in `region`'s national
    format; anything else is kept as typed (trimmed), for the data-quality page to list."""
    text = " ".join((value or "").split())
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_possible_number(number):
        return text
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{formatted} ext. {number.extension}" if number.extension else formatted


def normalize_url(value: str) -> str:
    """A web address with its scheme and a lower-case host: "Acme.com/x" -> "https://acme.com/x"."""
    text = (value or "").strip()
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    if not is_web_address(text):
        return text
    parts = urlsplit(text)
    if not parts.hostname:
        return text
    netloc = parts.netloc.rsplit("@", 1)[-1]
    host = (
        netloc.lower()
        if parts.port is None
        else netloc.rsplit(":", 1)[0].lower() + f":{parts.port}"
    )
    return parts._replace(scheme=parts.scheme.lower(), netloc=host).geturl()


E164 = re.compile(r"^\+[1-9][0-9]{6,14}(?: ext\. [0-9]{1,6})?$")
