import functools

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from crm.models import Membership
from crm.notifications import unread_count


def keel(request: HttpRequest) -> dict:
    """What the frame needs on every page: the tenant, the member, the CSP nonce, and the
    member's other workspaces for the switcher (queried only if the template asks)."""
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    return {
        "tenant": tenant,
        "membership": membership,
        "csp_nonce": getattr(request, "csp_nonce", ""),
        "other_workspaces": SimpleLazyObject(lambda: _other_workspaces(request, tenant)),
        # A callable the template calls once, only on pages that show the bell.
        "notifications_unread": functools.cache(lambda: _unread(request, tenant)),
    }


def _unread(request: HttpRequest, tenant) -> int:
    if tenant is None or not request.user.is_authenticated:
        return 0
    return unread_count(request.user)


def _other_workspaces(request: HttpRequest, tenant) -> list[Membership]:
    if tenant is None or not request.user.is_authenticated:
        return []
    # Inside a tenant request the database lets a user see their own memberships
    # (the policy's app.user_id clause), so this one query lists them across tenants.
    return list(
        Membership.unscoped.filter(user=request.user, is_active=True, tenant__is_active=True)
        .exclude(tenant=tenant)
        .select_related("tenant")
        .order_by("tenant__name")
    )
