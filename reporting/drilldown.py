"""The records behind each figure: the same querysets the scorecard service aggregates."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse

from contacts.models import Activity
from crm.models import Membership, Tenant
from pipeline.criteria import CUSTOM_PREFIX, is_blank, is_custom_field
from pipeline.models import Stage
from reporting import completeness
from reporting.filters import Filters
from reporting.models import SnapshotDeal
from reporting.point_in_time import covers_day, customer_on, rotting_since, with_hygiene
from reporting.scorecards import (
    Scope,
    _active_days,
    automation_runs_qs,
    criteria_fields,
    lead_contacts,
    open_deals_at,
)
from reporting.selectors import Table

LIMIT = 500

CLOSED = {"close_rate", "close_rate_value", "sales_cycle_days", "won_revenue", "revenue_per_rep", "target_attainment"}  # fmt: skip
FORECAST = {"forecast_error", "forecast_accuracy", "pipeline_coverage"}
OPEN_AT_END = {"pipeline_hygiene", "stale_deals"}


def _url(name: str, pk: int, tenant: Tenant) -> str:
    return reverse(name, args=[tenant.slug, pk])


def _local(dt, tz) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M") if dt else ""


def records_table(figure: str, tenant: Tenant, filters: Filters, params: dict) -> Table | None:
    """The records a figure counts, for the drill-down page and its CSV; None if unknown."""
    scope = filters.scope(tenant)
    p = filters.period
    tz = tenant.tz
    if figure in CLOSED:
        won_only = figure in (
            "sales_cycle_days",
            "won_revenue",
            "revenue_per_rep",
            "target_attainment",
        )
        deals = scope.deals().filter(
            closed_at__gte=p.start_at, closed_at__lt=p.end_at, status__in=["won", "lost"]
        )
        if won_only:
            deals = deals.filter(status="won")
        table = Table(
            figure,
            "Deals won in the period" if won_only else "Deals closed in the period",
            ["Deal", "Owner", "Status", "Amount", "Created", "Closed", "Sales cycle (days)"],
        )
        for d in deals.select_related("owner").order_by("closed_at", "pk")[:LIMIT]:
            cycle = (d.closed_at - d.created_at).total_seconds() / 86400
            table.rows.append(
                [d.name, str(d.owner or ""), d.get_status_display(), d.amount,
                 _local(d.created_at, tz), _local(d.closed_at, tz), round(cycle, 1)]
            )  # fmt: skip
            table.links.append(_url("pipeline:deal-detail", d.pk, tenant))
        return table
    if figure == "retention_rate":
        later = (
            scope.deals()
            .filter(organization=OuterRef("organization"))
            .filter(customer_on(p.last_day))
        )
        deals = (
            scope.deals()
            .filter(customer_on(p.start), organization__isnull=False)
            .annotate(kept=Exists(later))
            .select_related("organization")
            .order_by("organization__name", "organization_id")
        )
        table = Table(
            figure,
            "Customers at the start of the period",
            ["Organization", "Still a customer on the last day"],
        )
        seen = set()
        for d in deals[: LIMIT * 3]:
            if d.organization_id in seen:
                continue
            seen.add(d.organization_id)
            table.rows.append([d.organization.name, "Yes" if d.kept else "No"])
            table.links.append(_url("contacts:organization-detail", d.organization_id, tenant))
        return table
    if figure in ("lead_response_hours", "leads_unanswered"):
        contacts = lead_contacts(scope).order_by("created_at", "pk")
        if figure == "leads_unanswered":
            contacts = contacts.filter(response_hours__isnull=True)
        table = Table(
            figure,
            "Leads created in the period",
            ["Contact", "Owner", "Created", "First call, e-mail or meeting", "Hours"],
        )
        for c in contacts.select_related("owner")[:LIMIT]:
            answered = c.response_hours is not None
            table.rows.append(
                [c.full_name, str(c.owner or ""), _local(c.created_at, tz),
                 _local(c.first_response, tz) if answered else "Waiting",
                 round(c.response_hours, 1) if answered else None]
            )  # fmt: skip
            table.links.append(_url("contacts:contact-detail", c.pk, tenant))
        return table
    if figure in FORECAST:
        lines = SnapshotDeal.objects.filter(
            snapshot__day=p.start, expected_close__gte=p.start, expected_close__lt=p.end
        )
        if scope.pipeline_id:
            lines = lines.filter(pipeline_id=scope.pipeline_id)
        else:
            lines = lines.filter(pipeline__kind__in=["sales", "renewals"])
        lines = (
            scope.owned(lines)
            .select_related("deal", "stage", "owner")
            .order_by("expected_close", "pk")
        )
        table = Table(
            figure,
            f"The pipeline due in the period as it stood on {p.start:%-d %B %Y}",
            ["Deal", "Owner", "Stage then", "Probability", "Amount", "Weighted", "Expected close", "Status today"],
        )  # fmt: skip
        for line in lines[:LIMIT]:
            weighted = Decimal(line.amount or 0) * line.probability / 100
            table.rows.append(
                [line.deal.name, str(line.owner or ""), line.stage.name, line.probability / 100,
                 line.amount, weighted.quantize(Decimal("0.01")), line.expected_close.isoformat(),
                 line.deal.get_status_display()]
            )  # fmt: skip
            table.links.append(_url("pipeline:deal-detail", line.deal_id, tenant))
        return table
    if figure in OPEN_AT_END:
        since = rotting_since(p.end, tz)
        deals = with_hygiene(open_deals_at(scope, p.end_at, revenue_only=False), p.end_at, since)
        if figure == "stale_deals":
            deals = deals.filter(stale=1)
        stage_names = dict(Stage.objects.values_list("pk", "name"))
        table = Table(
            figure,
            "Open deals at the end of the period",
            ["Deal", "Owner", "Stage then", "Days in stage", "Over the limit", "Next action", "Recent activity"],
        )  # fmt: skip
        for d in deals.select_related("owner").order_by(F("dwell_seconds").desc(), "pk")[:LIMIT]:
            table.rows.append(
                [d.name, str(d.owner or ""), stage_names.get(d.stage_at, ""),
                 int(d.dwell_seconds // 86400), "Yes" if d.over_limit else "No",
                 "Yes" if d.has_task else "No", "Yes" if d.recent_activity else "No"]
            )  # fmt: skip
            table.links.append(_url("pipeline:deal-detail", d.pk, tenant))
        return table
    if figure == "activity_logging_rate":
        acts = scope.owned(
            Activity.objects.filter(occurred_at__gte=p.start_at, occurred_at__lt=p.end_at),
            "logged_by",
        )
        if params.get("owner"):
            acts = acts.filter(logged_by_id=params["owner"])
        table = Table(
            figure, "Activities in the period", ["When", "Kind", "Subject", "Logged by", "Contact"]
        )
        for a in acts.select_related("logged_by", "contact").order_by("-occurred_at", "-pk")[
            :LIMIT
        ]:
            table.rows.append(
                [_local(a.occurred_at, tz), a.get_kind_display(), a.subject,
                 str(a.logged_by or ""), a.contact.full_name if a.contact else ""]
            )  # fmt: skip
            table.links.append(
                _url("contacts:contact-detail", a.contact_id, tenant) if a.contact_id else None
            )
        return table
    if figure == "daily_active_users":
        members = scope.owned(
            Membership.objects.filter(covers_day(p.start_at, p.end_at)), "user"
        ).select_related("user")
        by_member = _active_days(
            Scope(tenant=tenant, period=p, owner_id=scope.owner_id, by_owner=True)
        )
        table = Table(
            figure,
            "Members in the period",
            ["Member", "Role", "Days active", "Days a member", "Share"],
        )
        for m in members:
            row = by_member.get(m.user_id, {})
            active, covered = row.get("active_days", 0), row.get("covered_days", 0)
            table.rows.append(
                [str(m.user), m.get_role_display(), active, covered, active / covered if covered else None]
            )  # fmt: skip
            table.links.append(None)
        return table
    if figure == "data_completeness":
        return _incomplete(tenant, filters, params)
    if figure == "automation_runs":
        runs = automation_runs_qs(scope).select_related("user").order_by("-created_at", "-pk")
        table = Table(figure, "What the automations did", ["When", "Automation", "What", "For"])
        for run in runs[:LIMIT]:
            table.rows.append(
                [_local(run.created_at, tz), run.get_automation_display(), run.summary,
                 str(run.user or "")]
            )  # fmt: skip
            table.links.append(run.url if run.url.startswith("/") else None)
        return table
    return None


def _incomplete(tenant: Tenant, filters: Filters, params: dict) -> Table:
    """Records missing a required field (one record type and field when given)."""
    scope = filters.scope(tenant)
    p = filters.period
    required = completeness.required_fields(tenant)
    kind = params.get("record") if params.get("record") in completeness.RECORD_MODELS else "contact"
    model = completeness.RECORD_MODELS[kind]
    field = params.get("field") or ""
    table = Table("data_completeness", f"{completeness.RECORD_LABELS[kind]} with a required field empty", ["Record", "Owner", "Missing"])  # fmt: skip
    if kind == "deal":
        by_criteria = criteria_fields()
        records = open_deals_at(scope, p.end_at, revenue_only=False)
        names = [field] if field else sorted(set(required["deal"]) | set(by_criteria))
        missing = Q()
        for name in names:
            needed = Q() if name in required["deal"] else Q(stage_at__in=by_criteria.get(name, []))
            missing |= needed & completeness.blank_q(model, name)
        records = records.filter(missing) if names else records.none()
        url = "pipeline:deal-detail"
    else:
        records = scope.owned(
            model.objects.filter(created_at__lt=p.end_at)
            .exclude(erased_at__lt=p.end_at)
            .exclude(merged_at__lt=p.end_at)
        )
        names = [field] if field else required[kind]
        missing = Q()
        for name in names:
            missing |= completeness.blank_q(model, name)
        records = records.filter(missing) if names else records.none()
        url = f"contacts:{kind}-detail"
    for record in records.select_related("owner").order_by("pk")[:LIMIT]:
        wanted = [
            n for n in names
            if kind != "deal" or n in required["deal"] or record.stage_at in by_criteria.get(n, [])
        ]  # fmt: skip
        gaps = [completeness.label(kind, n) for n in wanted if _is_blank(record, n)]
        table.rows.append([str(record), str(record.owner or ""), ", ".join(gaps)])
        table.links.append(_url(url, record.pk, tenant))
    return table


def _is_blank(record, name: str) -> bool:
    if is_custom_field(name):
        return is_blank((record.custom_fields or {}).get(name[len(CUSTOM_PREFIX) :]))
    field = record._meta.get_field(name)
    return is_blank(getattr(record, field.attname))
