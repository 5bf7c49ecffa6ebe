"""Template helpers of the account pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def magnitude(value: int | None) -> int | None:
    """-12 → 12: the arrow beside it says which way."""
    return None if value is None else abs(value)


@register.filter
def percent(value: float | None) -> str:
    """0.875 → "87.5 %"; None → "—" (no data)."""
    return "—" if value is None else f"{value * 100:.1f} %"
