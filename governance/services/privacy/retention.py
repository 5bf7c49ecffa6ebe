"""The retention policy: contacts inactive for the policy's months are erased in batches."""

from __future__ import annotations

import calendar
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from contacts.models import Activity, Contact
from crm.audit import diff, record_event
from crm.models import User
from crm.tenancy import current_tenant
from governance.models import ErasureRequest, RetentionPolicy
from governance.services.privacy.erasure import erase_contact
from mail.services.privacy import recent_mail
from pipeline.models import Deal, DealContact

RETENTION_BATCH = 500


def retention_policy() -> RetentionPolicy:
    policy = RetentionPolicy.objects.first()
    if policy is None:
        policy = RetentionPolicy(tenant=current_tenant(), lifecycles=[Contact.Lifecycle.LEAD])
    return policy


def save_retention_policy(
    *, by: User, is_enabled: bool, inactive_months: int, lifecycles: list[str]
) -> RetentionPolicy:
    """Change the policy. Refuses fewer than 6 months and unknown lifecycle stages."""
    policy = retention_policy()
    if not 6 <= inactive_months <= 120:
        raise ValidationError({"inactive_months": "Choose between 6 and 120 months."})
    unknown = set(lifecycles) - set(Contact.Lifecycle.values)
    if unknown or not lifecycles:
        raise ValidationError({"lifecycles": "Choose at least one lifecycle stage."})
    before = {
        "is_enabled": policy.is_enabled if policy.pk else None,
        "inactive_months": policy.inactive_months if policy.pk else None,
        "lifecycles": policy.lifecycles if policy.pk else None,
    }
    policy.is_enabled, policy.inactive_months = is_enabled, inactive_months
    policy.lifecycles = [v for v in Contact.Lifecycle.values if v in lifecycles]
    policy.updated_by, policy.updated_at = by, timezone.now()
    changes = diff(
        before,
        {
            "is_enabled": is_enabled,
            "inactive_months": inactive_months,
            "lifecycles": policy.lifecycles,
        },
    )
    with transaction.atomic():
        policy.save()
        if changes:
            record_event(actor=by, verb="retention.updated", target=policy, changes=changes)
    return policy


def months_before(moment: datetime, months: int) -> datetime:
    month = moment.month - months
    year = moment.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def retention_candidates(policy: RetentionPolicy, *, now: datetime):
    """Live contacts the policy would erase now: in its lifecycle stages, created and last
    changed before the cut-off, with no activity or e-mail since it and no open deal."""
    cutoff = months_before(now, policy.inactive_months)
    recent = Activity.objects.filter(contact=OuterRef("pk"), occurred_at__gte=cutoff)
    open_primary = Deal.objects.filter(primary_contact=OuterRef("pk"), status=Deal.Status.OPEN)
    open_involved = DealContact.objects.filter(
        contact=OuterRef("pk"), deal__status=Deal.Status.OPEN
    )
    return (
        Contact.objects.live()
        .filter(lifecycle__in=policy.lifecycles, created_at__lt=cutoff, updated_at__lt=cutoff)
        .exclude(Exists(recent))
        .exclude(recent_mail(cutoff))
        .exclude(Exists(open_primary))
        .exclude(Exists(open_involved))
        .select_related("organization", "owner")
        .order_by("created_at", "pk")
    )


def apply_retention_policy(*, now: datetime) -> int:
    """Erase up to RETENTION_BATCH candidates if the policy is on (the next run continues);
    returns how many were erased."""
    policy = RetentionPolicy.objects.filter(is_enabled=True).first()
    if policy is None:
        return 0
    reason = f"Retention policy: no activity for {policy.inactive_months} months"
    erased = 0
    for contact in list(retention_candidates(policy, now=now)[:RETENTION_BATCH]):
        erase_contact(contact, by=None, reason=reason, origin=ErasureRequest.Origin.RETENTION)
        erased += 1
    policy.last_run_at = now
    policy.save(update_fields=["last_run_at"])
    if erased:
        record_event(
            actor=None, verb="retention.run", target=policy, changes={"erased": [None, erased]}
        )
    return erased
