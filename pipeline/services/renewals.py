"""Renewal notices, and the renewal deal opened at the first of them.

A won deal of a revenue pipeline with a `contract_end` is due a notice `days` before the
end, for each of the tenant's `RenewalOffset`s (90, 60 and 30 by default): from 00:00 on
that date in the tenant's time zone until the contract ends. The owner gets it (the
managers when nobody owns the deal); offsets marked `copy_managers` copy the managers.
When several notices fall due at once (a deal won 40 days before its contract ends),
only the nearest is sent and the others are recorded as skipped. The first notice also
opens a renewal deal in the tenant's renewals pipeline, once per contract end. Notices
of one run are grouped: a member with several gets one digest ("3 contracts up for
renewal") leading to the renewals pipeline.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import formats

from crm.audit import record_event
from crm.automation import (
    active_member,
    date_window,
    log_once,
    managers,
    positive_int,
    url_for,
)
from crm.models import RENEWAL_DEAL_STEP, Automation, AutomationLog, NotificationKind, Tenant, User
from crm.notifications import grouped, notification_key, notify
from crm.outbox import publish
from crm.tenancy import current_tenant
from pipeline.models import DEFAULT_RENEWAL_OFFSETS, Deal, Pipeline, RenewalOffset
from pipeline.services.config import _create_pipeline_with_stages
from pipeline.services.deals import create_deal

# (name, kind, probability, max dwell days, criteria): see config.SALES_STAGES.
RENEWAL_STAGES: list[tuple[str, str, int, int | None, list]] = [
    ("Renewal due", "open", 60, None, []),
    ("In discussion", "open", 80, 30, []),
    ("Renewed", "won", 100, None, []),
    ("Churned", "lost", 0, None, []),
]


def create_renewals_pipeline(*, tenant: Tenant, by: User | None) -> Pipeline | None:
    """The renewals pipeline and the default renewal offsets, when the tenant lacks them.

    Runs for every new tenant (KEEL_TENANT_SETUP, after the sales and onboarding
    defaults) and when a renewal deal is first needed. Running it again changes nothing.
    """
    with transaction.atomic():
        if not RenewalOffset.objects.exists():
            RenewalOffset.objects.bulk_create(
                [
                    RenewalOffset(tenant=tenant, days=days, copy_managers=copy)
                    for days, copy in DEFAULT_RENEWAL_OFFSETS
                ]
            )
        if Pipeline.objects.filter(kind=Pipeline.Kind.RENEWALS).exists():
            return None
        name = "Renewals"
        if Pipeline.objects.filter(name__iexact=name).exists():
            name = "Renewals (contracts)"
        position = (Pipeline.objects.aggregate(m=Max("position"))["m"] or 0) + 1
        pipeline = _create_pipeline_with_stages(
            tenant, name=name, kind=Pipeline.Kind.RENEWALS, position=position, stages=RENEWAL_STAGES
        )
        record_event(
            actor=by, verb="pipeline.created", target=pipeline, changes={"name": [None, name]}
        )
    return pipeline


def renewals_pipeline() -> Pipeline:
    found = Pipeline.objects.filter(kind=Pipeline.Kind.RENEWALS).order_by("position", "pk").first()
    if found is None:
        found = create_renewals_pipeline(tenant=current_tenant(), by=None)
    return found


# What is due


def due_renewal_notices(
    deals: QuerySet, *, now: datetime, zones: Iterable[str], offsets: Iterable[int]
) -> QuerySet:
    """Won deals with a renewal notice due at `now` and not yet sent (or skipped).

    `zones` and `offsets` list the time zones and offsets (days) of the tenants
    concerned.
    """
    offsets = sorted(set(offsets))
    when = Q()
    for zone in sorted(set(zones)):
        today = now.astimezone(zoneinfo.ZoneInfo(zone)).date()
        for days in offsets:
            done = Exists(
                AutomationLog.unscoped.annotate(day=TruncDate("window", tzinfo=UTC)).filter(
                    tenant_id=OuterRef("tenant_id"),
                    automation=Automation.RENEWAL,
                    subject_type="pipeline.deal",
                    subject_id=OuterRef("pk"),
                    step=str(days),
                    day=OuterRef("contract_end"),
                )
            )
            offered = Exists(
                RenewalOffset.unscoped.filter(tenant_id=OuterRef("tenant_id"), days=days)
            )
            when |= (
                Q(
                    tenant__time_zone=zone,
                    contract_end__gte=today,
                    contract_end__lte=today + timedelta(days=days),
                )
                & offered
                & ~done
            )
    return deals.filter(
        status=Deal.Status.WON,
        contract_end__isnull=False,
        pipeline__kind__in=Pipeline.REVENUE_KINDS,
    ).filter(when)


# Sending


def send_renewal_notices(*, now: datetime) -> int:
    """Send the current tenant's due renewal notices; returns how many were sent."""
    tenant = current_tenant()
    today = now.astimezone(tenant.tz).date()
    offsets = {o.days: o for o in RenewalOffset.objects.all()}
    deals = list(
        due_renewal_notices(Deal.objects.all(), now=now, zones=[tenant.time_zone], offsets=offsets)
        .select_related("pipeline", "organization")
        .order_by("pk")
    )
    done: dict[tuple[int, date], set[str]] = defaultdict(set)
    for deal_id, window, step in AutomationLog.objects.filter(
        automation=Automation.RENEWAL,
        subject_type="pipeline.deal",
        subject_id__in=[d.pk for d in deals],
    ).values_list("subject_id", "window", "step"):
        done[(deal_id, window.astimezone(UTC).date())].add(step)
    sent = 0
    with grouped():
        for deal in deals:
            sent += _notices_due(deal, today=today, offsets=offsets, logged=done)
    return sent


def _notices_due(
    deal: Deal,
    *,
    today: date,
    offsets: dict[int, RenewalOffset],
    logged: dict[tuple[int, date], set[str]],
) -> int:
    """Send the nearest due notice of `deal` (recording the others as skipped) and open
    its renewal deal; returns how many notices were sent (0 or 1)."""
    days_left = (deal.contract_end - today).days
    due = sorted(d for d in offsets if d >= days_left)
    if not due:
        return 0
    sent = 0
    steps = logged[(deal.pk, deal.contract_end)]
    for days in due:
        if str(days) in steps:
            continue
        if days == due[0]:
            sent += _notice(deal, offset=offsets[days], days_left=days_left)
        else:
            log_once(
                automation=Automation.RENEWAL,
                subject=deal,
                window=date_window(deal.contract_end),
                step=str(days),
                summary=f"{deal.name}: {days}-day notice skipped ({days_left} days left)",
                detail={"skipped": True},
            )
    open_renewal_deal(deal)
    return sent


def _notice(deal: Deal, *, offset: RenewalOffset, days_left: int) -> int:
    owner = active_member(deal.owner_id)
    recipients = [owner] if owner else managers()
    copied = managers(exclude=[u.pk for u in recipients]) if offset.copy_managers else []
    ends = formats.date_format(deal.contract_end, "j M Y")
    url = url_for("pipeline:deal-detail", deal.pk)
    entry = log_once(
        automation=Automation.RENEWAL,
        subject=deal,
        window=date_window(deal.contract_end),
        step=str(offset.days),
        user=recipients[0] if recipients else None,
        summary=f"{deal.name}: contract ends {ends} ({offset.days}-day notice)",
        url=url,
        detail={"days_left": days_left, "recipients": [u.pk for u in [*recipients, *copied]]},
    )
    if entry is None:
        return 0
    publish(
        "renewal.due",
        target=deal,
        data={
            "days_left": days_left,
            "notice_days": offset.days,
            "contract_end": str(deal.contract_end),
        },
    )
    who = f" with {deal.organization}" if deal.organization_id else ""
    renewals = Pipeline.objects.filter(kind=Pipeline.Kind.RENEWALS).values_list("pk", flat=True)
    board = url_for("pipeline:board")
    board = board and (f"{board}?pipeline={renewals[0]}" if renewals else board)
    for user in [*recipients, *copied]:
        notify(
            recipient=user,
            kind=NotificationKind.RENEWAL,
            key=notification_key(
                "renewal", f"deal-{deal.pk}", f"{offset.days}d", deal.contract_end.isoformat()
            ),
            title=f"Renewal in {days_left} days: {deal.name}",
            body=(
                f"The contract{who} ends on {ends}, in {days_left} days.\n"
                "A renewal deal waits in the renewals pipeline."
                + ("\nYou are copied as a manager." if user in copied else "")
            ),
            url=url,
            line=f"{deal.name}: ends {ends}, in {days_left} days",
            digest_url=board,
        )
    return 1


def open_renewal_deal(deal: Deal) -> Deal | None:
    """Open the renewal deal for this contract end, once; returns it when created now.

    It goes to the first stage of the renewals pipeline with the original's
    organization, contact, owner and amount, expected to close when the contract ends.
    """
    window = date_window(deal.contract_end)
    if AutomationLog.objects.filter(
        automation=Automation.RENEWAL,
        subject_type="pipeline.deal",
        subject_id=deal.pk,
        window=window,
        step=RENEWAL_DEAL_STEP,
    ).exists():
        return None
    owner = active_member(deal.owner_id)
    try:
        with transaction.atomic():
            entry = log_once(
                automation=Automation.RENEWAL,
                subject=deal,
                window=window,
                step=RENEWAL_DEAL_STEP,
                user=owner,
                summary=f"Renewal deal opened for {deal.name}",
            )
            if entry is None:
                return None
            renewal = create_deal(
                by=None,
                name=f"Renewal {deal.contract_end:%Y}: {deal.name}"[:200],
                pipeline=renewals_pipeline(),
                organization=deal.organization,
                primary_contact=deal.primary_contact,
                owner=owner,
                amount=deal.amount,
                currency=deal.currency,
                expected_close=deal.contract_end,
                contract_start=deal.contract_end + timedelta(days=1),
            )
            entry.url = url_for("pipeline:deal-detail", renewal.pk)
            entry.detail = {"renewal_deal": renewal.pk}
            entry.summary = f"Renewal deal opened: {renewal.name}"[:200]
            entry.save(update_fields=["url", "detail", "summary"])
    except ValidationError as exc:
        # E.g. the organization was merged away: record why, so the scan does not retry.
        log_once(
            automation=Automation.RENEWAL,
            subject=deal,
            window=window,
            step=RENEWAL_DEAL_STEP,
            summary=f"No renewal deal for {deal.name}: {'; '.join(exc.messages)}"[:200],
            detail={"error": exc.messages},
        )
        return None
    return renewal


# Configuration (admins)


def set_renewal_offsets(*, by: User, days: Iterable[int], copy_managers_from: int | None) -> None:
    """Make `days` the tenant's renewal offsets (1–730 each, at most six); managers are
    copied on the notices at `copy_managers_from` days or fewer (None: never)."""
    wanted = sorted({positive_int(d, field="renewal_offsets", low=1, high=730) for d in days})
    if len(wanted) > 6:
        raise ValidationError({"renewal_offsets": "Use at most six notices."})
    copy_from = (
        None
        if copy_managers_from in (None, "")
        else positive_int(copy_managers_from, field="copy_managers_from", low=1, high=730)
    )
    before = [(o.days, o.copy_managers) for o in RenewalOffset.objects.order_by("-days")]
    after = [(d, copy_from is not None and d <= copy_from) for d in sorted(wanted, reverse=True)]
    if before == after:
        return
    with transaction.atomic():
        RenewalOffset.objects.all().delete()
        RenewalOffset.objects.bulk_create(
            [RenewalOffset(tenant=current_tenant(), days=d, copy_managers=c) for d, c in after]
        )
        record_event(
            actor=by,
            verb="renewal_offsets.updated",
            target=current_tenant(),
            changes={"renewal_offsets": [before, after]},
        )
