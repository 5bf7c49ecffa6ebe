"""Shared by reporting's commands: find the tenant (and its members) by the shell's names."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError

from crm.models import Tenant


def get_tenant(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(f"No workspace with the slug {slug!r}.")
    return tenant


def parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--{name} must be a date like 2026-03-01.") from error
