"""`manage.py scorecard`: the figures of METRICS.md from the shell, the dashboard's numbers."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm.models import Membership
from crm.tenancy import tenant_context
from pipeline.models import Pipeline
from reporting.figures import FIGURES, format_value
from reporting.management.commands._tenant import get_tenant, parse_date
from reporting.periods import Period, last_full_month
from reporting.scorecards import FIGURE_KEYS, compute_scorecard
from reporting.services import FigureEncoder


class Command(BaseCommand):
    help = (
        "Print a tenant's effectiveness and health scorecards for [start, end) "
        "(tenant-local dates; by default the last full calendar month)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="the workspace's slug")
        parser.add_argument("--start", help="first day, YYYY-MM-DD")
        parser.add_argument("--end", help="day after the last, YYYY-MM-DD (exclusive)")
        parser.add_argument("--owner", help="one member's e-mail address")
        parser.add_argument("--pipeline", help="one pipeline's name")
        parser.add_argument("--format", choices=["json", "table"], default="json")

    def handle(self, *args, **opts) -> None:
        tenant = get_tenant(opts["tenant"])
        start, end = parse_date(opts["start"], "start"), parse_date(opts["end"], "end")
        if (start is None) != (end is None):
            raise CommandError("Give both --start and --end, or neither (last full month).")
        if start is None:
            period = last_full_month(tenant.tz)
            start, end = period.start, period.end
        elif end <= start:
            raise CommandError("--end must be after --start (the period is [start, end)).")
        with transaction.atomic(), tenant_context(tenant):
            owner = pipeline = None
            if opts["owner"]:
                membership = (
                    Membership.objects.filter(user__email__iexact=opts["owner"])
                    .select_related("user")
                    .first()
                )
                if membership is None:
                    raise CommandError(f"{opts['owner']} is not a member of {tenant.slug}.")
                owner = membership.user
            if opts["pipeline"]:
                pipeline = Pipeline.objects.filter(name__iexact=opts["pipeline"]).first()
                if pipeline is None:
                    raise CommandError(f"{tenant.slug} has no pipeline named {opts['pipeline']!r}.")
            figures = compute_scorecard(
                tenant, start=start, end=end, owner=owner, pipeline=pipeline
            )
        header = {
            "tenant": tenant.slug,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "time_zone": tenant.time_zone,
            "currency": tenant.currency,
            "owner": owner.email if owner else None,
            "pipeline": pipeline.name if pipeline else None,
        }
        if opts["format"] == "json":
            self.stdout.write(json.dumps({**header, **figures}, cls=FigureEncoder, indent=2))
            return
        period = Period(start, end, tenant.tz)
        self.stdout.write(
            f"{tenant.name} · {period.label()} ({start} to {period.last_day}, {tenant.time_zone})"
        )
        if owner or pipeline:
            self.stdout.write(
                "Filtered by: " + ", ".join(filter(None, [header["owner"], header["pipeline"]]))
            )
        width = max(len(k) for k in FIGURE_KEYS)
        for scope in ("effectiveness", "health"):
            self.stdout.write(f"\n{scope.title()}")
            for key in FIGURE_KEYS:
                if FIGURES[key].scope != scope:
                    continue
                shown = format_value(key, figures[key], currency=tenant.currency)
                raw = (
                    "null" if figures[key] is None else json.dumps(figures[key], cls=FigureEncoder)
                )
                self.stdout.write(f"  {key:<{width}}  {shown:>18}   {raw}")
