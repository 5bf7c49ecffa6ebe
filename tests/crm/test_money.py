"""One money format: amounts in the workspace's currency and Keel's locale (crm.money)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_currency
from django.template import Context, Template
from django.utils import translation

from crm.money import NBSP, format_money, format_money_short, money_js


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (12500, "€12,500"),
        (Decimal("99.5"), "€99.50"),
        ("1122950", "€1,122,950"),
        (Decimal("0.005"), "€0.01"),  # halves round up
        (-1500, "-€1,500"),
        (0, "€0"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_an_amount_in_euros(value, shown):
    assert format_money(value, "EUR", locale="en_US") == shown


def test_whole_units_for_tiles_and_summaries():
    assert format_money(Decimal("10500.50"), "EUR", whole=True, locale="en_US") == "€10,501"


def test_the_currency_and_locale_decide_the_symbol_and_separators():
    assert format_money(Decimal("1234.5"), "usd", locale="en_US") == "$1,234.50"
    assert format_money(Decimal("1234.5"), "CHF", locale="en_US") == f"CHF{NBSP}1,234.50"
    assert format_money(Decimal("1234.5"), "EUR", locale="de_DE") == f"1.234,50{NBSP}€"
    assert format_money(Decimal("1234.5"), "JPY", locale="en_US") == "¥1,235"  # no minor unit
    assert format_money(Decimal("123456"), "INR", locale="en_IN") == "₹1,23,456"


@pytest.mark.parametrize("locale", ["en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "sv_SE", "ja_JP"])
@pytest.mark.parametrize("currency", ["EUR", "USD", "GBP", "SEK", "CHF"])
def test_the_fast_path_writes_what_babel_writes(locale, currency):
    def unspaced(text: str) -> str:  # Babel leaves out CLDR's currency spacing; we add it
        return text.replace(NBSP, "").replace(" ", "")

    for value in (Decimal("0.5"), Decimal("1234.56"), Decimal("-98765.4"), Decimal("1e6") + 1):
        ours = format_money(value + Decimal("0.25"), currency, locale=locale)
        theirs = format_currency(value + Decimal("0.25"), currency, locale=locale)
        assert unspaced(ours) == unspaced(theirs), (value, ours, theirs)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (950, "€950"),
        (4500, "€4.5K"),
        (12_500, "€13K"),
        (48_300, "€48K"),
        (123_456, "€123K"),
        (1_250_000, "€1.3M"),
        (-1500, "-€1.5K"),
        (None, "—"),
    ],
)
def test_a_compact_amount_for_headers_and_cards(value, shown):
    assert format_money_short(value, "EUR", locale="en_US") == shown


def test_a_compact_amount_is_whole_where_the_locale_does_not_shorten_it():
    assert format_money_short(12_500, "EUR", locale="de_DE") == f"12.500{NBSP}€"
    assert format_money_short(1_250_000, "EUR", locale="de_DE") == f"1,3{NBSP}Mio.{NBSP}€"


def test_the_locale_is_the_active_language_and_scripts_get_the_same():
    with translation.override("de"):
        assert format_money(Decimal("1234.5"), "EUR") == f"1.234,50{NBSP}€"
        assert money_js("eur") == {"currency": "EUR", "locale": "de"}
    assert money_js("EUR") == {"currency": "EUR", "locale": "en-US"}


def test_the_template_filters_default_to_the_workspaces_currency(tenant_a):
    tenant_a.tenant.currency = "GBP"
    tenant_a.tenant.save()
    html = Template("{% load keel %}{{ a|money }} {{ a|money_short }} {{ a|money:'EUR' }}").render(
        Context({"a": Decimal("4500")})
    )
    assert html == "£4,500 £4.5K €4,500"
