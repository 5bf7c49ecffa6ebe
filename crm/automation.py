"""What every app's automations share: the tenant's settings, the "done once" log, time
windows, the people to tell.

An automation writes its effects (notifications, tasks, a new owner) in the same
transaction as its `AutomationLog` row; the row's unique constraint decides who does
the work when a task runs twice or two workers race. Beat's scans and the per-tenant
services build their "what is due" queries from the same functions, so a tenant the
scan hands work to finds exactly that work.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch

from crm.audit import diff, record_event
from crm.models import AutomationLog, AutomationSettings, Membership, Role, Tenant, User
from crm.scans import across_tenants
from crm.templatetags.keel import tenant_reverse
from crm.tenancy import current_tenant

SETTINGS_FIELDS = ["reminder_lead_minutes", "digest_hour"]


# Settings


def automation_settings() -> AutomationSettings:
    """The current tenant's settings (an unsaved row with the defaults when it has none)."""
    found = AutomationSettings.objects.first()
    return found if found is not None else AutomationSettings(tenant=current_tenant())


def update_automation_settings(*, by: User, **fields: Any) -> AutomationSettings:
    """Change the reminder lead time (0–1440 minutes) or the digest hour (0–23)."""
    unknown = set(fields) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"Unknown automation settings {sorted(unknown)}")
    settings = automation_settings()
    before = {k: getattr(settings, k) for k in SETTINGS_FIELDS}
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    changes = diff(before, {k: getattr(settings, k) for k in SETTINGS_FIELDS})
    if not changes:
        return settings
    with transaction.atomic():
        if settings.pk is None:
            try:
                with transaction.atomic():
                    settings.save()
            except IntegrityError:  # created meanwhile by another admin: update that row
                settings.pk = AutomationSettings.objects.get().pk
                settings.save(update_fields=SETTINGS_FIELDS)
        else:
            settings.save(update_fields=SETTINGS_FIELDS)
        record_event(actor=by, verb="automation_settings.updated", target=settings, changes=changes)
    return settings


def setting_subquery(field: str, default: int) -> Coalesce:
    """The row's tenant's setting `field` (the default without a settings row), for scans."""
    value = AutomationSettings.unscoped.filter(tenant_id=OuterRef("tenant_id")).values(field)[:1]
    return Coalesce(Subquery(value), Value(default))


def setting_values(field: str, default: int) -> set[int]:
    """Every value `field` takes across tenants (few), so scans can compare with constants."""
    found = across_tenants(AutomationSettings.unscoped.values_list(field, flat=True).distinct())
    return {*found, default}


# The log


def subject_type(obj: models.Model) -> str:
    return obj._meta.label_lower


def logged(automation: str, kind: str, *, subject: Any, window: Any, step: str = "") -> Exists:
    """SQL: has `automation` already acted on this subject in this window and step?

    `subject` and `window` are values or OuterRef expressions to the scanned row.
    """
    return Exists(
        AutomationLog.unscoped.filter(
            tenant_id=OuterRef("tenant_id"),
            automation=automation,
            subject_type=kind,
            subject_id=subject,
            window=window,
            step=step,
        )
    )


def log_once(
    *,
    automation: str,
    subject: models.Model | None = None,
    kind: str = "",
    subject_id: int | None = None,
    window: datetime,
    step: str = "",
    user: User | None = None,
    summary: str,
    url: str = "",
    detail: dict | None = None,
) -> AutomationLog | None:
    """Record that `automation` acted on the subject in `window`; None if it already had.

    Call it inside the transaction that writes the effects, and write them only when it
    returns a row: a concurrent writer of the same row waits for this transaction and
    then gets None (or takes over if this one rolls back).
    """
    try:
        with transaction.atomic():
            return AutomationLog.objects.create(
                tenant=current_tenant(),
                automation=automation,
                subject_type=kind or subject_type(subject),
                subject_id=subject_id if subject_id is not None else subject.pk,
                window=window,
                step=step,
                user=user,
                summary=summary[:200],
                url=url[:300],
                detail=detail or {},
            )
    except IntegrityError:
        return None


# Time


def local_midnight(day: date, tz: zoneinfo.ZoneInfo) -> datetime:
    """00:00 of `day` in `tz` (aware)."""
    return datetime.combine(day, time(0), tzinfo=tz)


def date_window(day: date) -> datetime:
    """A calendar date as a log window (midnight UTC: the same whatever the time zone)."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def tenant_time_zones() -> list[str]:
    """The time zones of active tenants (few), for scans that depend on local time."""
    zones = across_tenants(Tenant.objects.filter(is_active=True))
    return sorted(set(zones.values_list("time_zone", flat=True).distinct()))


# People


def active_member(user_id: int | None) -> User | None:
    """The user when they are an active member of the current tenant, else None."""
    if user_id is None:
        return None
    membership = (
        Membership.objects.filter(user_id=user_id, is_active=True).select_related("user").first()
    )
    return membership.user if membership else None


def managers(*, exclude: Iterable[int] = ()) -> list[User]:
    """Who watches over the reps: the active managers, or the admins when there are none."""
    members = Membership.objects.filter(is_active=True).select_related("user")
    chosen = [m.user for m in members if m.role == Role.MANAGER]
    if not chosen:
        chosen = [m.user for m in members if m.role == Role.ADMIN]
    return [u for u in chosen if u.pk not in set(exclude)]


def url_for(viewname: str, *args: Any) -> str:
    """A tenant URL, or "" while the page does not exist (an app not installed yet)."""
    try:
        return tenant_reverse(viewname, *args)
    except NoReverseMatch:
        return ""


def positive_int(value: Any, *, field: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: "Enter a whole number."}) from None
    if not low <= number <= high:
        raise ValidationError({field: f"Use a number from {low} to {high}."})
    return number
