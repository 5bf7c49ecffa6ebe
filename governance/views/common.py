"""What every governance view shares: roles (admins change, managers read) and the clock."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from crm.models import Role
from crm.permissions import role_required


def governance_view(role: str = Role.MANAGER) -> Callable:
    """`role` and above may open the page (managers by default: settings are readable by
    managers); dates are read and shown in the tenant's time zone."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @role_required(role)
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            with timezone.override(request.tenant.tz):
                return view(request, *args, **kwargs)

        return wrapped

    return decorator


def require_admin(request: HttpRequest) -> None:
    """Changes are for admins; managers see the settings read-only."""
    if not request.membership.is_admin:
        raise PermissionDenied("Only admins change workspace settings.")


def can_change(request: HttpRequest) -> bool:
    return request.membership.is_admin
