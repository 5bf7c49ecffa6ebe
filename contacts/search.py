"""Global search: contacts, organizations and, through `register_search_provider`, the
records of later apps (pipeline's deals), best match first.

Every word of the query must begin a word of the record (or its whole e-mail, domain or
name), without case or accents: "jan sch" finds Jane Schmidt, "muller" Müller. A query
of digits (spaces, "+", brackets allowed) finds any part of a phone number: "+48 171"
and "171 23" find +48171234567.

How the two databases agree:

- **Folding** is one table, `FOLD_FROM`/`FOLD_TO`/`FOLD_MULTI`: lower case, then each
  accented Latin letter to its base letter(s). PostgreSQL has it as the SQL function
  `contacts_fold` (`translate()` and `replace()`, contacts migration 0005; the
  `unaccent` extension needs a superuser to install, which the app's role is not, and
  its rules file could differ between servers); SQLite gets `fold()` itself as an
  application function (`register_sqlite_functions`). A test compares the two.
- **Terms**: on PostgreSQL, triggers keep `SearchTerm` rows (`contacts_terms()`: the
  folded whole values, their words, and every suffix of at least `MIN_PHONE_SUFFIX`
  digits of the phone number, so that "part of a number" is a prefix range too). A
  query word becomes the range `[word, successor)` in the "C" collation: an index range
  scan, which row security allows, where LIKE would read every row of the tenant
  (bench/NOTES.md, item 8). SQLite (development) builds the same terms in Python
  (`record_terms`) per row and looks for " word" in them.
- **Ranking**: a match at the start of the record's name before one at the start of a
  later word, before one found only in the e-mail or domain (`word_start_rank`); on
  PostgreSQL trigram similarity breaks ties and finds near-misses of a single word.
  The groups are shown best first: "aur" lists the Aurora organization before people
  whose e-mail is at aurora.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Case, F, FloatField, Func, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Concat, Greatest

from contacts.models import Contact, Organization, SearchTerm

# Lower-case letters of Latin-1 Supplement, Latin Extended-A and -B to their base
# letters (NFKD without combining marks, and ø ł đ ð ħ ı ŧ ŀ ŉ ſ ĸ ŋ by hand), and the
# few that become two letters. Copied into contacts migration 0005 (the SQL function);
# change both together, with a migration that rebuilds the terms.
FOLD_FROM = (
    "àáâãäåçèéêëìíîïðñòóôõöøùúûüýÿāăąćĉċčďđēĕėęěĝğġģĥħĩīĭįıĵķĸĺļľŀłńņňŉŋōŏőŕŗřśŝşš"
    "ţťŧũūŭůűųŵŷźżžſơưǎǐǒǔǖǘǚǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳ"
)
FOLD_TO = (
    "aaaaaaceeeeiiiidnoooooouuuuyyaaaccccddeeeeegggghhiiiiijkklllllnnnnnooorrrssss"
    "tttuuuuuuwyzzzsouaiouuuuuaagkoojgnaaaeeiioorruusthaeooooy"
)
FOLD_MULTI = {"ß": "ss", "æ": "ae", "œ": "oe", "þ": "th", "ĳ": "ij"}
FOLD_MULTI.update({"ǆ": "dz", "ǉ": "lj", "ǌ": "nj", "ǳ": "dz"})
_FOLD = str.maketrans(FOLD_FROM, FOLD_TO) | str.maketrans(FOLD_MULTI)
# PostgreSQL's [[:space:][:punct:]] under a UTF-8 ctype: anything but letters and digits.
_SEPARATORS = re.compile(r"[\W_]+")
_WORD_SEPARATORS = str.maketrans("-.@_'’/+,&()", " " * 12)
_PHONE_QUERY = re.compile(r"^\+?[\d\s().\-/]+$")
MIN_PHONE_SUFFIX = 4  # a 3-digit query still finds longer suffixes that begin with it
MIN_PHONE_QUERY = 3
RANKED_CANDIDATES = 1000
TERM_LENGTH = 200


def fold(text: str | None) -> str:
    """Lower case without accents: "Müller" -> "muller". Same as SQL contacts_fold()."""
    return (text or "").lower().translate(_FOLD)


def words(text: str | None) -> str:
    """Folded, the usual separators as spaces, for ranking: "Jean-Luc O'Brien" -> "jean luc
    o brien". Same as SQL contacts_words() (a cheap translate(), no regular expression)."""
    return fold(text).translate(_WORD_SEPARATORS)


def digits(text: str | None) -> str:
    return re.sub(r"[^0-9]", "", text or "")


def record_terms(phone: str | None, *parts: str | None) -> set[str]:
    """The search terms of a record, as SQL contacts_terms(phone, parts…) makes them."""
    terms: set[str] = set()
    for part in parts:
        folded = fold(part)
        terms.add(folded[:TERM_LENGTH])
        terms.update(w[:TERM_LENGTH] for w in _SEPARATORS.split(folded))
    number = digits(phone)
    terms.update(number[-n:] for n in range(MIN_PHONE_SUFFIX, len(number) + 1))
    terms.discard("")
    return terms


def _search_text(phone: str | None, *parts: str | None) -> str:
    return " " + " ".join(sorted(record_terms(phone, *parts))) + " "


def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On SQLite, the same folding as PostgreSQL's SQL functions (connection_created)."""
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_function("contacts_fold", 1, fold, deterministic=True)
    raw.create_function("contacts_words", 1, words, deterministic=True)
    raw.create_function("contacts_search_text", -1, _search_text, deterministic=True)


# The query


@dataclass(frozen=True)
class SearchQuery:
    text: str  # as typed, tidied: shown back to the user
    words: list[str]  # folded; each must begin a term of the record
    phrase: str  # the folded words together, for ranking

    @property
    def phone(self) -> bool:
        return len(self.words) == 1 and self.words[0].isdigit() and self.words[0] == self.phrase


def parse(query: str) -> SearchQuery:
    """At most five words of 100 characters in all; a phone-like query is one word of its
    digits without leading zeros ("0048 171" and "+48 171" -> "48171", "(0171) 23" ->
    "17123"), since the terms hold every suffix of the stored E.164 number."""
    text = " ".join(query.split()[:5])[:100]
    if len(text) < 2:
        return SearchQuery(text, [], "")
    number = digits(text).lstrip("0")
    if _PHONE_QUERY.match(text) and len(number) >= MIN_PHONE_QUERY:
        return SearchQuery(text, [number[:TERM_LENGTH]], number)
    folded = [fold(w)[:TERM_LENGTH] for w in text.split()]
    return SearchQuery(text, folded, words(text))


# Matching and ranking, for contacts' own records and for providers


def prefix_range(prefix: str) -> Q:
    """Terms that start with `prefix`: [prefix, its successor) in the "C" collation."""
    prefix = prefix[:TERM_LENGTH]
    successor = prefix[:-1] + chr(min(ord(prefix[-1]) + 1, 0x10FFFF))
    return Q(term__gte=prefix, term__lt=successor)


def matching(
    qs: QuerySet, query: SearchQuery, *, terms: QuerySet, column: str, fields: list[str],
    phone: str | None = None,
) -> QuerySet:  # fmt: skip
    """`qs` narrowed to records where every word begins a term: on PostgreSQL through
    `terms` (the trigger-kept rows, `column` naming the record), one index range per
    word; on SQLite through the same terms built from `fields` (and `phone`) per row."""
    found = qs
    if connection.vendor == "postgresql":
        for word in query.words:
            found = found.filter(pk__in=terms.filter(prefix_range(word)).values(column))
    else:
        parts = [F(phone) if phone else Value("")] + [F(name) for name in fields]
        text = Func(*parts, function="contacts_search_text", output_field=TextField())
        found = found.alias(s_text=text)
        for word in query.words:
            found = found.filter(s_text__contains=" " + word)
    # Ranking folds names per row (~40 µs a contact): a broad word ("ana": 37,500 of
    # 300,000 contacts) ranks the first RANKED_CANDIDATES instead of every match (13 s).
    # On PostgreSQL they come in term order, so exact words come first.
    return qs.filter(pk__in=found.order_by().values("pk")[:RANKED_CANDIDATES])


def folded_words(expression: Any) -> Func:
    """A column (or expression) as `words()` gives it, in SQL on both databases."""
    if isinstance(expression, str):
        expression = F(expression)
    return Func(expression, function="contacts_words", output_field=TextField())


def word_start_rank(alias: str, query: SearchQuery, weight: float) -> Case:
    """3 × weight when `alias` (folded words) is the query, 2 × when it begins with it, 1 ×
    when a later word does; nothing for a match inside a word ("aur" in "laura")."""
    q = query.phrase
    return Case(
        When(**{f"{alias}__exact": q}, then=Value(weight * 3)),
        When(**{f"{alias}__startswith": q}, then=Value(weight * 2)),
        When(**{f"{alias}__contains": " " + q}, then=Value(weight)),
        default=Value(0.0),
        output_field=FloatField(),
    )


def best(qs: QuerySet, fuzzy: QuerySet | None, rank: Any, order: list, limit: int) -> list:
    """The best `limit` matches: word matches first, then near-misses while there is
    room. Two queries keep each an index lookup (an OR of the two would scan the tenant's
    rows); a near-miss never displaces a word match."""
    found = list(qs.annotate(rank=rank).order_by(*order)[:limit])
    if fuzzy is not None and len(found) < limit:
        others = fuzzy.annotate(rank=rank).order_by(*order).exclude(pk__in=[r.pk for r in found])
        found += list(others[: limit - len(found)])
    return found


# A near-miss is a courtesy: the trigram test (no index under row security) runs on at
# most this many terms beginning with the word's first two letters.
NEAR_MISS_CANDIDATES = 5000


def _near_misses(qs: QuerySet, field: str, word: str) -> QuerySet:
    """Records with a word similar to `word` and beginning with the same two letters."""
    from django.contrib.postgres.lookups import TrigramSimilar

    kind = SearchTerm.objects.filter(**{f"{field}__isnull": False})
    candidates = kind.filter(prefix_range(word[:2])).values("pk")[:NEAR_MISS_CANDIDATES]
    similar = kind.filter(Q(pk__in=candidates), TrigramSimilar(F("term"), word))
    return qs.filter(pk__in=similar.values(field))


# Results and providers


@dataclass(frozen=True)
class SearchGroup:
    """One kind of record in the results: its matches, best first, and how to show them.
    `item_template` renders one match (`item`) as a `.search-item` link."""

    key: str  # "contacts", "organizations", "deals"
    title: str  # "Contacts"
    noun: str  # "contact": for "No contact, organization or deal matches"
    items: list[Any]
    item_template: str
    new_label: str = ""  # the button offered when nothing matches
    new_url: str = ""  # a URL name in the tenant, for {% turl %}

    @property
    def best(self) -> float:
        return max((getattr(item, "rank", 0.0) or 0.0 for item in self.items), default=0.0)


@dataclass(frozen=True)
class SearchResults:
    query: str
    groups: list[SearchGroup] = field(default_factory=list)  # best match first

    @property
    def contacts(self) -> list[Contact]:
        return self.group("contacts").items

    @property
    def organizations(self) -> list[Organization]:
        return self.group("organizations").items

    def group(self, key: str) -> SearchGroup:
        return next(g for g in self.groups if g.key == key)

    @property
    def empty(self) -> bool:
        return not any(g.items for g in self.groups)

    @property
    def nouns(self) -> str:
        """ "contact, organization or deal", in the order the kinds were registered."""
        names = [g.noun for g in sorted(self.groups, key=lambda g: _order(g.key))]
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


Provider = Callable[[SearchQuery, int], SearchGroup]
_providers: list[Provider] = []


def register_search_provider(provider: Provider) -> Provider:
    """Add a kind of record to global search (from a later app's AppConfig.ready()):
    `provider(query, limit)` returns its `SearchGroup`, in a bounded number of queries,
    matching with `matching()` and ranking with `word_start_rank()` like contacts; with
    `limit` 0 (nothing to look for) the empty group, without a query."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def _order(key: str) -> int:
    return {"contacts": 0, "organizations": 1}.get(key, 2)


def search(query: str, *, limit: int = 8) -> SearchResults:
    """Contacts, organizations and the providers' records matching `query`, each kind's
    best `limit`, the kind with the best match first (contacts first on a tie). Two
    queries for contacts and organizations (four with near-misses), plus the providers'."""
    parsed = parse(query.strip())
    providers = [_contacts, _organizations, *_providers]
    if not parsed.words:
        groups = [provider(parsed, 0) for provider in providers]
    else:
        groups = [provider(parsed, limit) for provider in providers]
    groups.sort(key=lambda g: (-g.best, _order(g.key)))
    return SearchResults(parsed.text if parsed.words else "", groups)


def _contacts(query: SearchQuery, limit: int) -> SearchGroup:
    items: list[Contact] = []
    if limit:
        qs = Contact.objects.live().select_related("organization")
        qs = qs.alias(
            s_full=folded_words(Concat("first_name", Value(" "), "last_name")),
            s_last=folded_words("last_name"),
            s_email=folded_words("email"),
        )
        found = matching(
            qs, query, terms=SearchTerm.objects.filter(contact__isnull=False), column="contact",
            fields=["first_name", "last_name", "email"], phone="phone",
        )  # fmt: skip
        rank = (
            word_start_rank("s_full", query, 3)
            + word_start_rank("s_last", query, 2)
            + word_start_rank("s_email", query, 1)
        )
        fuzzy = None
        if connection.vendor == "postgresql" and not query.phone:
            from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity

            if len(query.words) == 1:
                fuzzy = _near_misses(qs, "contact", query.words[0])
            rank = rank + Greatest(
                TrigramWordSimilarity(Value(query.phrase), "s_full"),
                TrigramSimilarity("s_email", Value(query.phrase)),
            )
        items = best(found, fuzzy, rank, ["-rank", "last_name", "first_name", "pk"], limit)
    return SearchGroup(
        "contacts", "Contacts", "contact", items, "contacts/search.html#contact-item",
        new_label="New contact", new_url="contacts:contact-create",
    )  # fmt: skip


def _organizations(query: SearchQuery, limit: int) -> SearchGroup:
    items: list[Organization] = []
    if limit:
        qs = Organization.objects.live().alias(
            s_name=folded_words("name"), s_domain=folded_words("domain")
        )
        found = matching(
            qs, query, terms=SearchTerm.objects.filter(organization__isnull=False),
            column="organization", fields=["name", "domain"], phone="phone",
        )  # fmt: skip
        rank = word_start_rank("s_name", query, 3) + word_start_rank("s_domain", query, 1)
        fuzzy = None
        if connection.vendor == "postgresql" and not query.phone:
            from django.contrib.postgres.search import TrigramWordSimilarity

            if len(query.words) == 1:
                fuzzy = _near_misses(qs, "organization", query.words[0])
            rank = rank + TrigramWordSimilarity(Value(query.phrase), "s_name")
        items = best(found, fuzzy, rank, ["-rank", "name", "pk"], limit)
    return SearchGroup(
        "organizations", "Organizations", "organization", items,
        "contacts/search.html#organization-item",
        new_label="New organization", new_url="contacts:organization-create",
    )  # fmt: skip
