"""Who may do what through the API: the member's role and the token's scope.

The same rules as the pages: every member reads the workspace and creates records;
reps change only what they own (`Membership.can_edit`), managers and admins everything;
a read-only token changes nothing.
"""

from __future__ import annotations

from django.db import models
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from crm.models import Role


class MemberWithScope(BasePermission):
    """An active member (rep and above); writes need a read-write token or the session."""

    def has_permission(self, request: Request, view) -> bool:
        membership = getattr(request._request, "membership", None)
        if membership is None or not membership.has_role(Role.REP):
            return False
        token = getattr(request._request, "api_token", None)
        if request.method not in SAFE_METHODS and token is not None and not token.can_write:
            raise PermissionDenied(
                "This token is read-only; create a read-and-write token to make changes.",
                code="read_only_token",
            )
        return True

    def has_object_permission(self, request: Request, view, obj: models.Model) -> bool:
        if request.method in SAFE_METHODS:
            return True
        require_edit(request, obj)
        return True


def require_edit(request: Request, record: models.Model) -> None:
    """403 unless the member may change `record` (reps only their own), as in the UI."""
    if not request._request.membership.can_edit(record):
        raise PermissionDenied(
            "Only the owner, a manager or an admin can change this record.", code="not_owner"
        )
