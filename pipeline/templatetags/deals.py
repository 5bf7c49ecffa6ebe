"""Display helpers for deals: money in the tenant's currency, dwell badges, durations."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from urllib.parse import urlencode

from django import template
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from crm.money import format_money, money_locale
from crm.templatetags import keel

register = template.Library()

# Amounts have one format everywhere (crm.money); the filters are here too because the
# deal templates load this library.
register.filter("money", keel.money)
register.filter("money_short", keel.money_short)


@register.filter
def duration(seconds: int | None) -> str:
    """Time spent in a stage: "12 d", "5 h", "< 1 h"."""
    if not seconds:
        return "—"
    days = seconds / 86400
    if days >= 1:
        return f"{days:.0f} d" if days >= 10 else f"{days:.1f} d".replace(".0 d", " d")
    hours = seconds // 3600
    return f"{hours} h" if hours else "< 1 h"


@register.simple_tag
def dwell_badge(deal, now: datetime | None = None) -> str:
    """ "9 / 14 d": days in the stage against its limit. Amber past 75 %, red past the
    limit, each with an icon and words for screen readers, not colour alone."""
    now = now or timezone.now()
    days = deal.days_in_stage(now)
    limit = deal.stage.max_dwell_days if deal.is_open else None
    stage = deal.stage.name
    if not limit:
        return format_html(
            '<span class="dwell-badge" title="{} days in {}">{} d'
            '<span class="visually-hidden"> in {}</span></span>',
            days,
            stage,
            days,
            stage,
        )
    state = deal.dwell_state(now)
    icons = {"ok": "clock", "warning": "hourglass-split", "over": "exclamation-triangle-fill"}
    words = {"ok": "", "warning": ", nearing the limit", "over": ", over the limit"}
    return format_html(
        '<span class="dwell-badge is-{}" title="{} days in {}; the limit is {} days">'
        '<i class="bi bi-{}" aria-hidden="true"></i> {} / {} d'
        '<span class="visually-hidden"> in {}{}</span></span>',
        state,
        days,
        stage,
        limit,
        icons[state],
        days,
        limit,
        stage,
        words[state],
    )


@lru_cache(maxsize=4096)
def _day(value: date, fmt: str, language: str | None) -> str:
    return date_format(value, fmt)


def day(value: date, fmt: str) -> str:
    """`value|date:fmt` for a calendar day, remembered: a board formats the same few close
    dates twice per card, and Django's date formatting costs ~0.1 ms a call here."""
    return _day(value, fmt, translation.get_language())


@register.simple_tag
def card_close_date(deal, now: datetime) -> str:
    """A card's expected close date, marked (in words too) once it has passed."""
    if not deal.expected_close:
        return ""
    late = deal.expected_close < timezone.localdate(now)
    return format_html(
        '<span class="deal-card-close{}" title="Expected to close {}">'
        '<i class="bi bi-calendar-event" aria-hidden="true"></i> {}{}</span>',
        " is-late" if late else "",
        day(deal.expected_close, "l j F Y"),
        format_html('<span class="visually-hidden">{}</span>', "Close date passed: ")
        if late
        else "",
        day(deal.expected_close, "j M"),
    )


@register.filter
def percent(part, whole) -> int:
    try:
        return round(Decimal(part) * 100 / Decimal(whole)) if whole else 0
    except (TypeError, ArithmeticError):
        return 0


@register.simple_tag(takes_context=True)
def deal_list_url(context, base: dict, **extra) -> str:
    """The deal list filtered to the deals behind a figure (forecast cells).

    The list's path is reversed once per rendering: the forecast has a link in each of
    its ~1,800 cells at 200 owners, and reversing cost ~0.15 ms each (bench/NOTES.md)."""
    cache = context.render_context
    path = cache.get("deal_list_path")
    if path is None:
        path = cache["deal_list_path"] = keel.tenant_reverse("pipeline:deal-list")
    extra = {k: v for k, v in extra.items() if v not in (None, "")}
    if extra.keys() & base.keys():
        return f"{path}?{urlencode({**base, **extra})}"
    key = ("deal_list_base", id(base))
    if key not in cache:  # the base's parameters, encoded once per rendering too
        cache[key] = f"{path}?{urlencode(base)}" if base else f"{path}?"
    joint = "&" if base else ""
    return f"{cache[key]}{joint}{urlencode(extra)}" if extra else cache[key]


@register.simple_tag(takes_context=True)
def forecast_cells(context, base: dict, columns, plain: bool = False, **extra) -> str:
    """The <td>s of a forecast row, one per (bucket, cell): the weighted and unweighted
    amounts linking to the deals behind them. Built here rather than in a template loop:
    the table has ~2,600 cells at 200 owners (bench/NOTES.md)."""
    return format_html_join(
        "",
        "{}",
        (
            (forecast_cell(context, base, cell, plain, close_month=b.key, **extra),)
            for b, cell in columns
        ),
    )


EMPTY_CELL = format_html(
    '<td class="text-end"><span class="{}">—</span></td>', "text-body-tertiary"
)


@register.simple_tag(takes_context=True)
def forecast_cell(context, base: dict, cell, plain: bool = False, **extra) -> str:
    """A forecast figure linking to its deals; `plain` (several owners together): no link."""
    if not cell.count:
        return EMPTY_CELL
    currency = context["tenant"].currency
    cache = context.render_context  # the locale once per rendering, not per cell
    locale = cache.get("money_locale") or cache.setdefault("money_locale", money_locale())
    weighted = format_money(cell.weighted, currency, locale=locale)
    amount = format_money(cell.amount, currency, locale=locale)
    if plain:
        return format_html(
            '<td class="text-end"><span class="forecast-weighted">{}</span>'
            '<span class="forecast-amount">{} · {}</span></td>',
            weighted,
            amount,
            cell.count,
        )
    return format_html(
        '<td class="text-end"><a class="forecast-cell" href="{}">'
        '<span class="forecast-weighted">{}</span>'
        '<span class="forecast-amount">{} · {}</span></a></td>',
        deal_list_url(context, base, **extra),
        weighted,
        amount,
        cell.count,
    )


@register.filter
def local_date(value: datetime):
    """The calendar day of an instant in the current (the tenant's) time zone."""
    return timezone.localdate(value)
