"""Amounts as a person reads them: one format for every page, chart and e-mail.

An amount is written in the workspace's currency and in the locale Keel writes in, with
the Unicode CLDR's symbols, separators and patterns from Babel ("€12,500", "CHF 99.50",
"1.250 €" in German); the charts use the browser's `Intl.NumberFormat`, which reads the same
data, with the locale and currency `money_js()` hands them. CSV exports and the API keep
raw numbers.

A workspace has no locale setting of its own: amounts follow the active language
(`LANGUAGE_CODE`), and `money_locale()` is the one place to change that.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache

from babel import Locale
from babel.numbers import (
    format_compact_currency,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)
from django.conf import settings
from django.utils import translation

EMPTY = "—"
NBSP = "\u00a0"
QUANTA = [Decimal(1).scaleb(-places) for places in range(5)]


def money_locale() -> str:
    """The locale amounts are written in, as Babel names it ("en_US")."""
    return _locale(translation.get_language() or settings.LANGUAGE_CODE)


@lru_cache(maxsize=16)
def _locale(language: str) -> str:
    return translation.to_locale(language)


def money_js(currency: str) -> dict[str, str]:
    """What a script needs to format amounts as the server does (Intl.NumberFormat)."""
    return {"currency": currency.upper(), "locale": money_locale().replace("_", "-")}


def _apart(symbol: str, edge: str) -> bool:
    # CLDR's currency spacing, which Babel leaves out and browsers apply: a symbol whose
    # edge beside the digits is not itself a symbol ("CHF", "kr") stands apart from them.
    if not symbol:
        return False
    return unicodedata.category(symbol[-1] if edge == "end" else symbol[0])[0] not in "SZ"


@dataclass(frozen=True)
class _Pattern:
    """A locale's currency pattern for one currency, read from Babel once: what goes
    before and after the digits (positive, negative), the separators and the precision."""

    prefix: tuple[str, str]
    suffix: tuple[str, str]
    group: str
    decimal: str
    digits: int
    simple: bool  # groups of three; otherwise Babel formats (e.g. Indian lakh grouping)

    def format(self, amount: Decimal, places: int) -> str:
        negative = amount < 0
        text = f"{abs(amount):,.{places}f}"
        if (self.group, self.decimal) != (",", "."):
            text = text.translate({ord(","): "\0", ord("."): self.decimal}).replace(
                "\0", self.group
            )
        return f"{self.prefix[negative]}{text}{self.suffix[negative]}"


@lru_cache(maxsize=64)
def _pattern(currency: str, locale: str) -> _Pattern:
    pattern = Locale.parse(locale).currency_formats["standard"]
    symbol = get_currency_symbol(currency, locale=locale)
    prefix = tuple(p.replace("¤", symbol) for p in pattern.prefix)
    suffix = tuple(s.replace("¤", symbol) for s in pattern.suffix)
    prefix = tuple(p + NBSP if p.endswith(symbol) and _apart(symbol, "end") else p for p in prefix)
    suffix = tuple(
        NBSP + s if s.startswith(symbol) and _apart(symbol, "start") else s for s in suffix
    )
    return _Pattern(
        prefix=prefix,
        suffix=suffix,
        group=get_group_symbol(locale),
        decimal=get_decimal_symbol(locale),
        digits=get_currency_precision(currency),
        simple=tuple(pattern.grouping) == (3, 3),
    )


def _amount(value) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def format_money(value, currency: str, *, whole: bool = False, locale: str | None = None) -> str:
    """12500 → "€12,500"; 99.5 → "€99.50"; None → "—". Whole amounts show no cents;
    `whole=True` rounds to whole units (tiles, summaries: the exact amount is a click away).
    Halves round up, as people and Intl.NumberFormat do.

    Babel's data, formatted here: a forecast page formats ~5,000 amounts, and Babel's own
    `format_currency` takes ~170 µs a call against ~5 µs for this."""
    amount = _amount(value)
    if amount is None:
        return EMPTY
    loc = locale or money_locale()
    code = (currency or "").upper()
    pattern = _pattern(code, loc)
    places = 0 if whole or amount == amount.to_integral_value() else pattern.digits
    amount = amount.quantize(QUANTA[places], rounding=ROUND_HALF_UP)
    if pattern.simple:
        return pattern.format(amount, places)
    text = format_currency(
        amount, code, locale=loc, currency_digits=False, format=_fixed(loc, places)
    )
    symbol = get_currency_symbol(code, locale=loc)
    return text.replace(symbol, f"{symbol}{NBSP}") if _apart(symbol, "end") else text


@lru_cache(maxsize=32)
def _fixed(locale: str, places: int) -> str:
    pattern = Locale.parse(locale).currency_formats["standard"].pattern
    return pattern.replace(".00", "." + "0" * places if places else "")


@lru_cache(maxsize=4096)
def _compact(amount: Decimal, currency: str, locale: str, digits: int) -> str:
    with localcontext() as ctx:
        ctx.rounding = ROUND_HALF_UP
        text = format_compact_currency(amount, currency, locale=locale, fraction_digits=digits)
    symbol = get_currency_symbol(currency, locale=locale)
    if _apart(symbol, "end") and text.lstrip("-").startswith(symbol):
        return text.replace(symbol, f"{symbol}{NBSP}", 1)
    if (
        _apart(symbol, "start")
        and text.endswith(symbol)
        and not text[: -len(symbol)][-1:].isspace()
    ):
        return text.removesuffix(symbol) + NBSP + symbol
    return text


@lru_cache(maxsize=256)
def _compact_digits(locale: str, exponent: int) -> int | None:
    """How many integer digits the locale's compact pattern shows for 10^exponent ("¤00K":
    2), or None where it does not shorten (German thousands, beyond its largest unit)."""
    formats = Locale.parse(locale).compact_currency_formats["short"]["other"]
    pattern = formats.get("1" + "0" * exponent)
    if pattern is None or "¤" not in pattern.pattern:
        return None
    return pattern.pattern.count("0")


def format_money_short(value, currency: str, *, locale: str | None = None) -> str:
    """Compact for column headers and cards: "€950", "€4.5K", "€48K", "€1.2M" (one decimal
    below ten of a unit, as Intl.NumberFormat's compact notation); the whole amount where
    the locale does not shorten it."""
    amount = _amount(value)
    if amount is None:
        return EMPTY
    loc = locale or money_locale()
    size = abs(amount)
    shown = _compact_digits(loc, math.floor(math.log10(size))) if size >= 1000 else None
    if shown is None:
        return format_money(amount, currency, whole=True, locale=loc)
    exponent = math.floor(math.log10(size))
    digits = 1 if shown == 1 else 0
    # Rounded first to what is shown, so the formatted texts repeat and are remembered.
    quantum = Decimal(1).scaleb(exponent - shown + 1 - digits)
    rounded = amount.quantize(quantum, rounding=ROUND_HALF_UP)
    return _compact(rounded, (currency or "").upper(), loc, digits)
