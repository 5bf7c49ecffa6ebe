"""What each scorecard figure is called, how it reads and which way is better.

The definitions themselves are METRICS.md's; this is how the dashboards, the CSV exports
and `manage.py scorecard --format table` present them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.money import format_money
from crm.tenancy import current_tenant


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str  # rate, money, days, hours, count, per_week
    better: str  # "up", "down", "zero" (closer to 0 either side) or "" (neither)
    help: str
    scope: str  # "effectiveness" or "health"


_F = Figure
FIGURES: dict[str, Figure] = {
    f.key: f
    for f in [
        _F("close_rate", "Close rate", "rate", "up", "Deals won ÷ deals closed (won or lost) in the period.", "effectiveness"),
        _F("close_rate_value", "Close rate by value", "rate", "up", "Amount won ÷ amount closed in the period.", "effectiveness"),
        _F("sales_cycle_days", "Sales cycle", "days", "down", "Median days from creation to close, over deals won in the period.", "effectiveness"),
        _F("revenue_per_rep", "Revenue per rep", "money", "up", "Won revenue ÷ reps active at the end of the period.", "effectiveness"),
        _F("won_revenue", "Won revenue", "money", "up", "Sum of the amounts of deals won in the period.", "effectiveness"),
        _F("retention_rate", "Customer retention", "rate", "up", "Customers at the start still customers on the last day ÷ customers at the start.", "effectiveness"),
        _F("lead_response_hours", "Lead response time", "hours", "down", "Median hours from a lead's creation to the first call, e-mail or meeting on it or its deals.", "effectiveness"),
        _F("forecast_error", "Forecast error", "signed_rate", "zero", "(Weighted pipeline at the start − won revenue) ÷ won revenue; positive means over-forecast.", "effectiveness"),
        _F("forecast_accuracy", "Forecast accuracy", "rate", "up", "1 − |won − forecast| ÷ won, never below 0.", "effectiveness"),
        _F("pipeline_coverage", "Pipeline coverage", "ratio", "up", "Open pipeline due in the period, as it stood at the start ÷ the revenue target.", "effectiveness"),
        _F("target_attainment", "Target attainment", "rate", "up", "Won revenue ÷ the revenue target for the period.", "effectiveness"),
        _F("daily_active_users", "Daily active users", "rate", "up", "Mean over the days of members who signed in or changed a record ÷ members that day.", "health"),
        _F("data_completeness", "Data completeness", "rate", "up", "Filled required fields ÷ required fields over contacts, organizations and open deals at the end.", "health"),
        _F("activity_logging_rate", "Activities per user per week", "per_week", "up", "Activities in the period ÷ members at the end ÷ weeks in the period.", "health"),
        _F("pipeline_hygiene", "Pipeline hygiene", "rate", "up", "Open deals with a next action and within their stage's time limit ÷ open deals.", "health"),
        _F("stale_deals", "Stale deals", "count", "down", "Open deals over their stage's time limit, or without activity in the rotting period.", "health"),
        _F("automation_runs", "Automation runs", "count", "", "Reminders, stale-deal alerts, renewal notices and cadence tasks created in the period.", "health"),
        _F("leads_unanswered", "Leads waiting", "count", "down", "Leads created in the period with no call, e-mail or meeting by its end.", "health"),
    ]
}  # fmt: skip


def format_value(key: str, value: Any, *, currency: str = "", compact: bool = False) -> str:
    """The figure as a person reads it: "66.7 %", "€5,000.50", "12.5 days", "—"."""
    if value is None:
        return "—"
    unit = FIGURES[key].unit if key in FIGURES else ""
    if unit == "rate":
        return f"{float(value) * 100:.1f} %"
    if unit == "signed_rate":
        return f"{float(value) * 100:+.1f} %"
    if unit == "ratio":
        return f"{float(value):.2f}×"
    if unit == "money":
        # A tile (compact) shows whole units: the exact amount is in the records and the CSV.
        return format_money(value, currency or current_tenant().currency, whole=compact)
    if unit == "days":
        return f"{float(value):.1f} days"
    if unit == "hours":
        return f"{float(value):.1f} h"
    if unit == "per_week":
        return f"{float(value):.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
