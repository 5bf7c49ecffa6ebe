"""Display helpers for deals: money in the tenant's currency, dwell badges, durations."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}


def _symbol(currency: str) -> tuple[str, str]:
    code = (currency or "").upper()
    if code in SYMBOLS:
        return SYMBOLS[code], ""
    return "", f" {code}"


@register.filter
def money(value, currency: str = "EUR") -> str:
    """12500 → "€12,500"; 99.5 → "€99.50"; None → "—"."""
    if value in (None, ""):
        return "—"
    amount = Decimal(value)
    prefix, suffix = _symbol(currency)
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return f"{prefix}{text}{suffix}"


@register.filter
def money_short(value, currency: str = "EUR") -> str:
    """Compact for headers and cards: €950, €4.5k, €48k, €1.2M."""
    if value in (None, ""):
        return "—"
    amount = Decimal(value)
    prefix, suffix = _symbol(currency)
    for size, unit in ((Decimal(1_000_000), "M"), (Decimal(1_000), "k")):
        if abs(amount) >= size:
            scaled = amount / size
            places = Decimal("1") if abs(scaled) >= 10 else Decimal("0.1")
            text = str(scaled.quantize(places, rounding=ROUND_HALF_UP)).removesuffix(".0")
            return f"{prefix}{text}{unit}{suffix}"
    return f"{prefix}{amount:,.0f}{suffix}"


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
    from urllib.parse import urlencode

    from crm.templatetags.keel import tenant_reverse

    path = context.render_context.get("deal_list_path")
    if path is None:
        path = context.render_context["deal_list_path"] = tenant_reverse("pipeline:deal-list")
    params = {**base, **{k: v for k, v in extra.items() if v not in (None, "")}}
    return f"{path}?{urlencode(params)}"


@register.filter
def local_date(value: datetime):
    """The calendar day of an instant in the current (the tenant's) time zone."""
    return timezone.localdate(value)
