"""Checks shared by the services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from contacts.choices import choice_options
from contacts.duplicates import Match
from crm.models import Membership, User
from crm.tenancy import current_tenant
from crm.updates import check_fields, jsonable, snapshot

# The audit snapshot helpers live in crm (its update path uses them); named here too
# for the services that import them with the other checks.
__all__ = [
    "DuplicateFound",
    "check_fields",
    "clean_model",
    "jsonable",
    "require_choice",
    "require_member",
    "require_same_tenant",
    "snapshot",
]


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


def clean_model(obj: models.Model, *, skip: list[str]) -> None:
    """Model field validation (lengths, formats, choices), without the foreign keys the
    services check themselves (Django would look them up through the unscoped manager)."""
    obj.full_clean(exclude=skip, validate_unique=False, validate_constraints=False)
