from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone

from crm.models import Membership, Tenant
from crm.tenancy import tenant_context


class TenantMiddleware:
    """Resolves `/<tenant-slug>/…`, checks the membership and makes the tenant current.

    Django runs middleware outside ATOMIC_REQUESTS, so this middleware opens the request's
    transaction itself and sets the tenant inside it; the view runs and its (lazy)
    TemplateResponse renders inside the same transaction, which a server error rolls back.
    A tenant that does not exist and one the user does not belong to are the same 404.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        request.membership = None
        slug = self._tenant_slug(request)
        if slug is None:
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
        if tenant is None:
            raise Http404("No such workspace.")
        with transaction.atomic(), tenant_context(tenant, user_id=request.user.pk):
            membership = (
                Membership.objects.filter(user=request.user, is_active=True)
                .select_related("user")
                .first()
            )
            if membership is None:
                raise Http404("No such workspace.")
            request.tenant = tenant
            request.membership = membership
            # Dates in forms and templates read in the tenant's time zone.
            with timezone.override(tenant.tz):
                response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            return response

    @staticmethod
    def _tenant_slug(request: HttpRequest) -> str | None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
        return match.kwargs.get("tenant_slug")

    def process_view(self, request, view_func, view_args, view_kwargs) -> None:
        # Views find the tenant on request.tenant; they need not repeat the slug.
        view_kwargs.pop("tenant_slug", None)
