"""Checks shared by the services."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from contacts.choices import choice_options
from contacts.duplicates import Match
from crm.models import Membership, User
from crm.tenancy import current_tenant


class DuplicateFound(ValidationError):
    """Likely duplicates exist. `matches` lists them (with the reason); `blocking` is True
    when saving is impossible (another contact has the e-mail), False when the caller may
    confirm and save anyway (`allow_duplicate=True`)."""

    def __init__(self, message: Any, *, matches: list[Match], blocking: bool) -> None:
        super().__init__(message)
        self.matches = matches
        self.blocking = blocking


def require_member(user: User | None, *, field: str, required: bool = False) -> None:
    """`user` must be an active member of the current tenant (an owner, an assignee)."""
    if user is None:
        if required:
            raise ValidationError({field: "Choose a member of this workspace."})
        return
    if not Membership.objects.filter(user_id=user.pk, is_active=True).exists():
        raise ValidationError({field: f"{user} is not an active member of this workspace."})


def require_same_tenant(record: models.Model | None, *, field: str) -> None:
    """A row may never point at another tenant's row (foreign keys bypass row security)."""
    if record is None:
        return
    if record.tenant_id != current_tenant().pk:
        raise ValidationError({field: "That record does not exist in this workspace."})
    if not getattr(record, "is_live", True):
        raise ValidationError({field: f"{record} was merged or erased; choose another record."})


def require_choice(list_name: str, value: str, *, field: str, current: str = "") -> None:
    """`value` must be offered by the tenant's list (or be the value the record already has)."""
    if not value or value == current:
        return
    if value not in {v for v, _ in choice_options(list_name)}:
        raise ValidationError({field: f"“{value}” is not one of the choices for this field."})


def check_fields(model: type[models.Model], fields: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"{model.__name__} has no editable field(s) {sorted(unknown)}")


def jsonable(value: Any) -> Any:
    """A value as the audit trail stores it."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """{field: value} with foreign keys as ids, ready for the audit trail."""
    out = {}
    for name in fields:
        field = obj._meta.get_field(name)
        out[name] = (
            getattr(obj, field.attname) if field.is_relation else jsonable(getattr(obj, name))
        )
    return out


def clean_model(obj: models.Model, *, skip: list[str]) -> None:
    """Model field validation (lengths, formats, choices), without the foreign keys the
    services check themselves (Django would look them up through the unscoped manager)."""
    obj.full_clean(exclude=skip, validate_unique=False, validate_constraints=False)
