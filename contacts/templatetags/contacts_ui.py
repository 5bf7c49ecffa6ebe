"""Small display helpers for the contacts pages: relative dates, icons, labels, links."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

ICONS = {
    "call": "telephone",
    "email": "envelope",
    "meeting": "people",
    "note": "journal-text",
    "task": "check2-square",
    "deal": "briefcase",
    "stage": "signpost-split",
}
LIFECYCLE_TONES = {
    "lead": "info",
    "qualified_lead": "primary",
    "opportunity": "warning",
    "customer": "success",
    "prospect": "info",
    "former_customer": "secondary",
    "other": "secondary",
}


def relative(value: datetime, now: datetime | None = None) -> str:
    """ "5 min ago", "in 3 hours", "yesterday", "in 3 days", "12 Mar", "12 Mar 2024"."""
    now = now or timezone.now()
    delta = value - now
    seconds = delta.total_seconds()
    past = seconds < 0
    seconds = abs(seconds)
    local, local_now = timezone.localtime(value), timezone.localtime(now)
    days = (local.date() - local_now.date()).days
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        minutes = int(seconds // 60)
        return f"{minutes} min ago" if past else f"in {minutes} min"
    if days == 0:
        hours = int(seconds // 3600)
        unit = "hour" if hours == 1 else "hours"
        return f"{hours} {unit} ago" if past else f"in {hours} {unit}"
    if days == -1:
        return f"yesterday, {local:%H:%M}"
    if days == 1:
        return f"tomorrow, {local:%H:%M}"
    if abs(days) < 7:
        return f"{-days} days ago" if past else f"in {days} days"
    if local.year == local_now.year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


@register.simple_tag
def when(value: datetime | None, css: str = "") -> str:
    """<time> with a relative date, the exact one (tenant's time zone) on hover."""
    if value is None:
        return ""
    exact = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}"{}>{}</time>',
        value.isoformat(),
        f"{exact:%A} {exact.day} {exact:%B %Y, %H:%M}",
        format_html(' class="{}"', css) if css else "",
        relative(value),
    )


@register.filter
def icon(kind: str) -> str:
    return ICONS.get(kind, "dot")


@register.filter
def tone(lifecycle: str) -> str:
    return LIFECYCLE_TONES.get(lifecycle, "secondary")


@register.simple_tag
def choice_label(labels: dict, list_name: str, value: str) -> str:
    if not value:
        return ""
    return labels.get(list_name, {}).get(value, value)


@register.simple_tag
def query_with(query_string: str, **changes) -> str:
    """The list's query string with some parameters replaced (None or "" removes them)."""
    params = QueryDict(query_string, mutable=True)
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def minutes(value: int | None) -> str:
    if not value:
        return ""
    hours, mins = divmod(int(value), 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"


@register.filter
def is_past(value: datetime | None) -> bool:
    return value is not None and value < timezone.now()


@register.filter
def days_ago(value: datetime | None) -> int | None:
    if value is None:
        return None
    return (timezone.now() - value) // timedelta(days=1)
