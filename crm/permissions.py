"""Role checks for views: one decorator and one helper, used everywhere."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest

from crm.models import Role


def role_required(role: str = Role.REP) -> Callable:
    """Let the view run only for members whose role is `role` or above; others get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            membership = getattr(request, "membership", None)
            if membership is None or not membership.has_role(role):
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        wrapped.required_role = role
        return wrapped

    return decorator


def require_edit(request: HttpRequest, record: models.Model) -> None:
    """Raise 403 unless the member may change `record` (reps only their own)."""
    if not request.membership.can_edit(record):
        raise PermissionDenied("Only the owner, a manager or an admin can change this record.")
