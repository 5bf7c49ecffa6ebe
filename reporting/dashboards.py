"""What the three dashboards show, built from the scorecard service and the selectors.

Views render these; the CSV export asks `build_table` for one of the same tables, so a
number on the screen, in a chart's table and in the CSV always comes from one place.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache

from crm.models import AuditEvent, Membership, Tenant
from crm.money import money_js, money_locale
from crm.tenancy import current_tenant
from reporting import selectors
from reporting.figures import FIGURES, format_value
from reporting.filters import Filters
from reporting.point_in_time import covers_day
from reporting.scorecards import (
    EFFECTIVENESS_KEYS,
    FIGURE_KEYS,
    HEALTH_KEYS,
    compute_scorecard,
    compute_team,
    team_members,
)
from reporting.selectors import Table


@dataclass
class Tile:
    key: str
    label: str
    value: Any
    shown: str
    help: str
    change_word: str
    change_arrow: str
    change_tone: str
    change_shown: str
    previous_shown: str
    link: str
    spark: list | None = None
    team: str = ""


def _change(key: str, now, before) -> tuple[str, str, str, str]:
    """(word, arrow icon, tone, amount) comparing this period's value with the last one."""
    if now is None or before is None:
        return "No comparison", "dash", "neutral", ""
    figure = FIGURES[key]
    delta = float(Decimal(str(now)) - Decimal(str(before)))
    if abs(delta) < 1e-9:
        return "Unchanged", "arrow-right", "neutral", ""
    up = delta > 0
    word = "Up" if up else "Down"
    tone = "neutral"
    if figure.better == "zero":  # an error: what counts is its size, either side of 0
        size = abs(Decimal(str(now))) - abs(Decimal(str(before)))
        tone = "neutral" if not size else ("good" if size < 0 else "bad")
    elif figure.better:
        tone = "good" if (up == (figure.better == "up")) else "bad"
    if figure.unit in ("rate", "signed_rate"):
        shown = f"{delta * 100:+.1f} pts"
    elif figure.unit == "money":
        shown = f"{(delta / float(before) * 100):+.0f} %" if before else ""
    elif figure.unit in ("days", "hours", "per_week", "ratio"):
        shown = f"{delta:+.1f}"
    else:
        shown = f"{int(delta):+d}"
    return word, "arrow-up-right" if up else "arrow-down-right", tone, shown


def make_tiles(
    keys: list[str],
    figures: dict,
    previous: dict,
    *,
    currency: str,
    filters: Filters,
    sparks: dict | None = None,
    team: dict | None = None,
) -> list[Tile]:
    tiles = []
    for key in keys:
        word, arrow, tone, shown = _change(key, figures[key], previous[key])
        figure = FIGURES[key]
        tiles.append(
            Tile(
                key=key,
                label=figure.label,
                value=figures[key],
                shown=format_value(key, figures[key], currency=currency, compact=True),
                help=figure.help,
                change_word=word,
                change_arrow=arrow,
                change_tone=tone,
                change_shown=shown,
                previous_shown=format_value(key, previous[key], currency=currency, compact=True),
                link=filters.query(figure=key),
                spark=(sparks or {}).get(key),
                team=format_value(key, team[key], currency=currency, compact=True) if team else "",
            )
        )
    return tiles


def _num(value) -> float | None:
    return None if value is None else float(value)


def chart(table: Table, kind: str, series: list[tuple[int, str]], axis: str, **extra) -> dict:
    """Chart.js-ready data from a table: labels from column 0, one dataset per column, and
    how the page writes amounts (static/js/charts.js formats them the same way)."""
    return {
        "kind": kind,
        "axis": axis,
        "money": money_js(current_tenant().currency),
        "labels": [str(row[0]) for row in table.rows],
        "datasets": [
            {"label": label, "data": [_num(row[col]) for row in table.rows]}
            for col, label in series
        ],
        **extra,
    }


def scorecard_table(tenant: Tenant, figures: dict, previous: dict) -> Table:
    table = Table(
        "scorecard", "Scorecard", ["Figure", "Key", "Value", "Previous period", "Shown as"]
    )
    for key in FIGURE_KEYS:
        table.rows.append(
            [
                FIGURES[key].label,
                key,
                figures[key],
                previous[key],
                format_value(key, figures[key], currency=tenant.currency),
            ]
        )
    return table


TEAM_KEYS = [
    "won_revenue",
    "close_rate",
    "sales_cycle_days",
    "target_attainment",
    "lead_response_hours",
    "activity_logging_rate",
    "pipeline_hygiene",
    "stale_deals",
    "daily_active_users",
]


def team_table(tenant: Tenant, filters: Filters) -> tuple[Table, dict[int, dict], list]:
    p = filters.period
    members = list(team_members(p))
    team = compute_team(tenant, start=p.start, end=p.end, pipeline=filters.pipeline)
    table = Table("team", "Team", ["Rep"] + [FIGURES[k].label for k in TEAM_KEYS])
    for m in members:
        figures = team.get(m.user_id)
        if figures is None:
            continue
        table.rows.append([str(m.user)] + [figures[k] for k in TEAM_KEYS])
        table.links.append(filters.query(owner=m.user_id))
    return table, team, members


def team_medians(team: dict[int, dict]) -> dict[str, Any]:
    """The median over reps of each figure (reps without a value are left out)."""
    out = {}
    for key in FIGURE_KEYS:
        values = [f[key] for f in team.values() if f[key] is not None]
        out[key] = statistics.median(values) if values else None
    return out


# The team dashboard recomputes two scorecards, the team table and seven charts: ~30 s
# over a tenant of 150,000 deals and 3,000,000 activities (bench/NOTES.md). Its figures
# are kept for a few minutes, keyed by what they depend on: the tenant, the filters, the
# period and the tenant's latest audit event (every service that changes a record
# writes one), so a change shows at once; visits (daily active users) and automations
# show within MANAGER_CACHE_SECONDS.
MANAGER_CACHE_SECONDS = 300


def _manager_cache_key(tenant: Tenant, filters: Filters) -> str:
    latest = AuditEvent.objects.order_by("-created_at").values_list("pk", flat=True).first()
    p = filters.period
    return ":".join(
        str(part)
        for part in (
            "reporting:manager:v2", tenant.pk, tenant.created_at.timestamp(), tenant.currency,
            money_locale(), p.start, p.end, filters.query(), latest or 0,
        )
    )  # fmt: skip


def manager_context(tenant: Tenant, filters: Filters) -> dict:
    """The team dashboard's figures, tables and charts (from the cache when unchanged)."""
    key = _manager_cache_key(tenant, filters)
    context = cache.get(key)
    if context is None:
        context = _manager_context(tenant, filters)
        cache.set(key, context, timeout=MANAGER_CACHE_SECONDS)
    return context


def _manager_context(tenant: Tenant, filters: Filters) -> dict:
    p = filters.period
    scope = filters.scope(tenant)
    kwargs = {"owner": filters.owner, "pipeline": filters.pipeline}
    figures = compute_scorecard(tenant, start=p.start, end=p.end, **kwargs)
    prev = p.previous()
    previous = compute_scorecard(tenant, start=prev.start, end=prev.end, **kwargs)
    sparks = None if filters.filtered else selectors.sparklines(p, FIGURE_KEYS)
    cur = tenant.currency
    pipeline = selectors.chart_pipeline(scope)
    stages = selectors._stages(pipeline)
    tables = {
        "funnel": selectors.funnel(scope, pipeline, stages),
        "weighted": selectors.weighted_by_month(scope),
        "trend": selectors.trend_by_month(scope),
        "dwell": selectors.dwell(scope, pipeline, stages),
        "lost": selectors.lost_reasons(scope),
        "forecast": selectors.forecast_vs_actual(scope),
        "calibration": selectors.calibration(scope, pipeline, stages),
    }
    team, _, _ = team_table(tenant, filters)
    charts = [
        ("funnel", "Where do deals stall?", chart(tables["funnel"], "bar", [(3, "Conversion")], "percent"), pipeline),
        ("weighted", "What is due to close, and when?", chart(tables["weighted"], "bar", [(2, "Open amount"), (3, "Weighted amount")], "money"), None),
        ("trend", "Are we winning more, and faster?", chart(tables["trend"], "line", [(3, "Win rate"), (4, "Median sales cycle (days)")], "percent", secondary="days"), None),
        ("dwell", "How long do deals sit in each stage?", chart(tables["dwell"], "bar", [(2, "Mean days"), (3, "Median days")], "days", limits=[r[4] for r in tables["dwell"].rows]), pipeline),
        ("lost", "Why do we lose?", chart(tables["lost"], "hbar", [(1, "Deals lost")], "count"), None),
        ("forecast", "Did the forecast come true?", chart(tables["forecast"], "bar", [(1, "Forecast"), (2, "Won")], "money"), None),
        ("calibration", "Are the stage probabilities right?", chart(tables["calibration"], "bar", [(1, "Configured probability"), (2, "Won from here")], "percent"), pipeline),
    ]  # fmt: skip
    return {
        "figures": figures,
        "previous_period": prev,
        "effectiveness_tiles": make_tiles(
            EFFECTIVENESS_KEYS, figures, previous, currency=cur, filters=filters, sparks=sparks
        ),
        "health_tiles": make_tiles(
            HEALTH_KEYS, figures, previous, currency=cur, filters=filters, sparks=sparks
        ),
        "charts": [
            {"key": k, "question": q, "data": d, "table": tables[k], "pipeline": pl}
            for k, q, d, pl in charts
        ],
        "team": team,
        "team_keys": TEAM_KEYS,
        "scorecard": scorecard_table(tenant, figures, previous),
    }


def health_context(tenant: Tenant, filters: Filters) -> dict:
    p = filters.period
    scope = filters.scope(tenant)
    kwargs = {"owner": filters.owner, "pipeline": filters.pipeline}
    figures = compute_scorecard(tenant, start=p.start, end=p.end, **kwargs)
    prev = p.previous()
    previous = compute_scorecard(tenant, start=prev.start, end=prev.end, **kwargs)
    sparks = None if filters.filtered else selectors.sparklines(p, HEALTH_KEYS)
    members = Membership.objects.filter(covers_day(p.start_at, p.end_at)).select_related("user")
    if filters.owner:
        members = members.filter(user=filters.owner)
    members = list(members)
    dau = selectors.active_users_by_day(scope)
    stale, hygiene = selectors.stale_deal_list(scope)
    tables = {
        "dau": dau,
        "completeness": selectors.completeness_by_field(scope),
        "activity": selectors.activity_by_member(scope, members),
        "stale": stale,
    }
    return {
        "figures": figures,
        "previous_period": prev,
        "tiles": make_tiles(
            HEALTH_KEYS, figures, previous, currency=tenant.currency, filters=filters, sparks=sparks
        ),
        "dau_chart": chart(dau, "line", [(3, "Share of members active")], "percent"),
        "tables": tables,
        "hygiene": hygiene,
        "automation": selectors.automation_breakdown(scope),
    }


def rep_context(tenant: Tenant, filters: Filters, user) -> dict:
    p = filters.period
    own = Filters(filters.preset, p, filters.pipeline, user)
    figures = compute_scorecard(
        tenant, start=p.start, end=p.end, owner=user, pipeline=filters.pipeline
    )
    prev = p.previous()
    previous = compute_scorecard(
        tenant, start=prev.start, end=prev.end, owner=user, pipeline=filters.pipeline
    )
    team = compute_team(tenant, start=p.start, end=p.end, pipeline=filters.pipeline)
    medians = team_medians(team)
    keys = [k for k in FIGURE_KEYS if k not in ("revenue_per_rep",)]
    scope = own.scope(tenant)
    trend = selectors.trend_by_month(scope)
    table = Table("rep", "My figures", ["Figure", "Key", "Mine", "Team median"])
    for key in keys:
        table.rows.append([FIGURES[key].label, key, figures[key], medians[key]])
    return {
        "figures": figures,
        "tiles": make_tiles(
            keys, figures, previous, currency=tenant.currency, filters=own, team=medians
        ),
        "team_size": len(team),
        "table": table,
        "trend": trend,
        "trend_chart": chart(trend, "line", [(3, "Win rate"), (4, "Median sales cycle (days)")], "percent", secondary="days"),
    }  # fmt: skip


def build_table(name: str, tenant: Tenant, filters: Filters, *, user=None) -> Table | None:
    """One of the dashboards' tables by key, for the CSV export."""
    p = filters.period
    scope = filters.scope(tenant)
    pipeline = selectors.chart_pipeline(scope)
    stages = selectors._stages(pipeline)
    kwargs = {"owner": filters.owner, "pipeline": filters.pipeline}
    builders = {
        "funnel": lambda: selectors.funnel(scope, pipeline, stages),
        "weighted": lambda: selectors.weighted_by_month(scope),
        "trend": lambda: selectors.trend_by_month(scope),
        "dwell": lambda: selectors.dwell(scope, pipeline, stages),
        "lost": lambda: selectors.lost_reasons(scope),
        "forecast": lambda: selectors.forecast_vs_actual(scope),
        "calibration": lambda: selectors.calibration(scope, pipeline, stages),
        "team": lambda: team_table(tenant, filters)[0],
        "dau": lambda: selectors.active_users_by_day(scope),
        "completeness": lambda: selectors.completeness_by_field(scope),
        "stale": lambda: selectors.stale_deal_list(scope, limit=None)[0],
        "activity": lambda: health_context(tenant, filters)["tables"]["activity"],
        "scorecard": lambda: scorecard_table(
            tenant,
            compute_scorecard(tenant, start=p.start, end=p.end, **kwargs),
            compute_scorecard(tenant, start=p.previous().start, end=p.previous().end, **kwargs),
        ),
        "rep": lambda: rep_context(tenant, filters, user)["table"],
    }
    builder = builders.get(name)
    return builder() if builder else None


REP_TABLES = {"rep", "trend", "scorecard", "weighted", "lost", "forecast"}
