"""Member activity tracking for the health figures: who used Keel on which day.

Runs after `crm.middleware.TenantMiddleware`, inside the request's tenant transaction.
Writes at most one row per member and tenant-local day; the cache remembers "already
recorded today", so a busy member costs one cache read per request, not a write.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from reporting.periods import local_today
from reporting.services import record_member_activity


class MemberActivityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        tenant = getattr(request, "tenant", None)
        membership = getattr(request, "membership", None)
        if tenant is None or membership is None or response.status_code >= 500:
            return response
        day = local_today(tenant.tz)
        key = f"keel:active:{tenant.pk}:{membership.user_id}:{day.isoformat()}"
        if not cache.get(key):
            record_member_activity(user=membership.user, day=day)
            cache.set(key, True, timeout=60 * 60 * 26)
        return response
