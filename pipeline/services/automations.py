"""The automations as admins see them: what runs, what it produced lately, its settings.

`automation_runs` is METRICS.md's figure of the same name: reminders, stale-deal alerts,
renewal notices, cadence tasks and automatic assignments created in a period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max

from crm.automation import automation_settings, update_automation_settings
from crm.models import RUN_KINDS, Automation, AutomationLog, User
from pipeline.models import RenewalOffset
from pipeline.services.config import pipeline_settings, set_rotting_days
from pipeline.services.renewals import set_renewal_offsets


@dataclass(frozen=True)
class AutomationInfo:
    key: str
    name: str
    when: str
    does: str


CATALOGUE = [
    AutomationInfo(
        Automation.TASK_REMINDER,
        "Task reminders",
        "Every minute",
        "Tells the assignee when a task falls due (the lead time below ahead).",
    ),
    AutomationInfo(
        Automation.OVERDUE_DIGEST,
        "Daily digest",
        "Every day from the digest hour",
        "Sends each member the list of their overdue tasks.",
    ),
    AutomationInfo(
        Automation.STALE_DEAL,
        "Stale-deal alerts",
        "Every 5 minutes",
        "Alerts the owner once per stage visit when a deal passes its stage's limit or "
        "goes without activity for the rotting period; managers at twice the limit.",
    ),
    AutomationInfo(
        Automation.RENEWAL,
        "Renewal notices",
        "Every 5 minutes",
        "Tells the owner before a won deal's contract ends and opens a renewal deal at "
        "the first notice.",
    ),
    AutomationInfo(
        Automation.CADENCE,
        "Follow-up cadences",
        "When a deal enters a stage",
        "Plans the stage's follow-up tasks; leaving the stage cancels the open ones.",
    ),
    AutomationInfo(
        Automation.ASSIGNMENT,
        "Lead assignment",
        "When a contact or deal is created without an owner",
        "Gives it to a member by the first matching rule, in turn.",
    ),
    AutomationInfo(
        Automation.WEEKLY_SUMMARY,
        "Weekly summary",
        "Mondays from the digest hour",
        "E-mails managers last week's movement, new, won, lost and stale deals.",
    ),
]


@dataclass(frozen=True)
class AutomationStatus:
    info: AutomationInfo
    produced: int
    last_at: datetime | None


def automation_overview(*, now: datetime, days: int = 7) -> list[AutomationStatus]:
    """Each automation with how much it produced in the last `days` days and when last."""
    since = now - timedelta(days=days)
    logged = {
        row["automation"]: row
        for row in AutomationLog.objects.filter(created_at__gte=since)
        .values("automation")
        .annotate(n=Count("pk"), last=Max("created_at"))
        .order_by()
    }
    return [
        AutomationStatus(
            info=info,
            produced=(logged.get(info.key) or {}).get("n") or 0,
            last_at=(logged.get(info.key) or {}).get("last"),
        )
        for info in CATALOGUE
    ]


def recent_outputs(*, automation: str = "", limit: int = 50) -> list[AutomationLog]:
    """The latest things the automations did, newest first (one automation, or all)."""
    entries = AutomationLog.objects.select_related("user").order_by("-created_at", "-pk")
    if automation:
        entries = entries.filter(automation=automation)
    return list(entries[:limit])


def automation_runs(*, start: datetime, end: datetime) -> dict[str, int]:
    """METRICS.md `automation_runs` for the current tenant over [start, end): reminders,
    stale-deal alerts, renewal notices, cadence tasks and automatic assignments created
    in the period (AutomationLog.objects.runs()), by kind and in total."""
    counts = dict.fromkeys(RUN_KINDS, 0)
    rows = (
        AutomationLog.objects.runs()
        .filter(created_at__gte=start, created_at__lt=end)
        .values("automation")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["automation"]] = row["n"]
    counts["total"] = sum(counts.values())
    return counts


def renewal_offsets() -> tuple[list[int], int | None]:
    """The offsets (days, largest first) and from how many days managers are copied."""
    offsets = list(RenewalOffset.objects.order_by("-days"))
    copied = [o.days for o in offsets if o.copy_managers]
    return [o.days for o in offsets], (max(copied) if copied else None)


def current_settings() -> dict:
    settings = automation_settings()
    offsets, copy_from = renewal_offsets()
    return {
        "reminder_lead_minutes": settings.reminder_lead_minutes,
        "digest_hour": settings.digest_hour,
        "rotting_days": pipeline_settings().rotting_days,
        "renewal_offsets": offsets,
        "copy_managers_from": copy_from,
    }


def save_automation_settings(
    *,
    by: User,
    reminder_lead_minutes: int,
    digest_hour: int,
    rotting_days: int,
    renewal_offsets: Iterable[int],
    copy_managers_from: int | None,
) -> None:
    """Save every automation setting at once (each part records its own audit event)."""
    with transaction.atomic():
        update_automation_settings(
            by=by, reminder_lead_minutes=reminder_lead_minutes, digest_hour=digest_hour
        )
        set_rotting_days(by=by, days=rotting_days)
        set_renewal_offsets(by=by, days=renewal_offsets, copy_managers_from=copy_managers_from)
