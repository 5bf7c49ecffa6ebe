"""Keys that make likely duplicates collide: organization names, domains, e-mail addresses."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

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
    host = urlsplit(value).hostname or ""
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host


def is_valid_domain(domain: str) -> bool:
    return bool(_DOMAIN_RE.match(domain)) and len(domain) <= 253


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()
