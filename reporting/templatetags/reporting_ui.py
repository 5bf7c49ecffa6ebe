"""Template helpers of the dashboards: a figure as a person reads it, cells by column kind."""

from __future__ import annotations

from decimal import Decimal

from django import template

from crm.money import format_money
from crm.templatetags.keel import tenant_reverse
from crm.tenancy import current_tenant
from reporting.figures import FIGURES, format_value

register = template.Library()

# A column named for a scorecard figure is formatted as that figure is ("47.0 days").
_FIGURE_BY_LABEL = {figure.label: key for key, figure in FIGURES.items()}


@register.simple_tag
def figure(key: str, value, currency: str = "") -> str:
    return format_value(key, value, currency=currency)


@register.filter
def cell(value, column: str = "") -> str:
    """A table cell: a figure's column as that figure reads ("47.0 days"), other shares as
    percentages, amounts (the tables' only decimals) in the workspace's currency, None as a
    dash."""
    if value is None or value == "":
        return "—"
    if column in _FIGURE_BY_LABEL:
        return format_value(_FIGURE_BY_LABEL[column], value)
    name = (column or "").lower()
    if isinstance(value, float) and any(
        w in name for w in ("rate", "conversion", "share", "probability", "won from", "error", "attainment", "retention", "completeness", "hygiene", "active users")
    ):  # fmt: skip
        return f"{value * 100:.1f} %"
    if isinstance(value, Decimal):
        return format_money(value, current_tenant().currency)
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


@register.filter
def with_columns(row, columns) -> list[tuple[str, object]]:
    """A row's values beside their column names (the labels of a stacked table on phones)."""
    return list(zip(columns, row, strict=False))


@register.filter
def spark_points(series) -> list:
    return [v for _, v in (series or [])]


@register.simple_tag
def table_rows(table) -> list[dict]:
    """Rows ready to render: each cell formatted by its column, the row's link resolved
    (a path, or a query string for the records behind a figure)."""
    records = tenant_reverse("reporting:records")
    team = tenant_reverse("reporting:manager")
    rows = []
    for i, row in enumerate(table.rows):
        link = table.links[i] if i < len(table.links) else None
        if link and not link.startswith("/"):
            link = f"{records}?{link}" if "figure=" in link else f"{team}?{link}"
        cells = [
            {
                "column": col,
                "shown": cell(value, col),
                "numeric": isinstance(value, int | float | Decimal) or value is None,
            }
            for col, value in zip(table.columns, row, strict=False)
        ]
        rows.append({"link": link, "cells": cells})
    return rows
