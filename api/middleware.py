"""/api/v1/: who is calling, in which workspace, inside which transaction.

The API's counterpart of crm.middleware.TenantMiddleware. A request carries either a
personal token (`Authorization: Bearer keel_…`, which names its workspace) or, from
Keel's own pages, the session cookie plus `X-Keel-Tenant: <workspace slug>`. The
middleware resolves the member, then opens the request's transaction and sets the
tenant inside it (row-level security needs the per-transaction setting); the view runs
and its response renders inside that transaction, which a 5xx rolls back. DRF's
authentication classes only hand on what was resolved here. The schema and the docs
are public.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from api import tokens
from api.errors import json_error, server_error
from crm.models import Membership, Tenant
from crm.tenancy import tenant_context

PREFIX = "/api/v1/"
PUBLIC = {"schema", "docs", "redoc"}
TENANT_HEADER = "HTTP_X_KEEL_TENANT"
NOT_AUTHENTICATED = (
    "Authentication credentials were not provided. Send `Authorization: Bearer <token>` "
    "(create a token under API tokens in Keel), or, signed in to Keel, "
    "`X-Keel-Tenant: <workspace slug>`."
)


class ApiMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(PREFIX) or _is_public(request):
            return self.get_response(request)
        request.api_token = None
        request.api_auth = None
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            return self._with_token(request, header)
        if request.user.is_authenticated and request.META.get(TENANT_HEADER):
            return self._with_session(request, request.META[TENANT_HEADER])
        return json_error(401, "not_authenticated", NOT_AUTHENTICATED)

    def _with_token(self, request: HttpRequest, header: str) -> HttpResponse:
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        parsed = tokens.parse(raw) if scheme.lower() == "bearer" else None
        tenant = (
            Tenant.objects.filter(pk=parsed.tenant_id, is_active=True).first() if parsed else None
        )
        if tenant is None:
            return _invalid_token()
        with transaction.atomic(), tenant_context(tenant):
            token = tokens.authenticate(raw, parsed)
            if token is None:
                return _invalid_token()
            tokens.mark_used(token)
            request.user = token.user
            request.api_token = token
            request.api_auth = "token"
            return self._run(request, tenant, token.membership)

    def _with_session(self, request: HttpRequest, slug: str) -> HttpResponse:
        tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
        if tenant is None:
            return json_error(404, "not_found", "No such workspace.")
        with transaction.atomic(), tenant_context(tenant, user_id=request.user.pk):
            membership = Membership.objects.filter(user=request.user, is_active=True).first()
            if membership is None:
                return json_error(404, "not_found", "No such workspace.")
            request.api_auth = "session"
            return self._run(request, tenant, membership)

    def _run(self, request: HttpRequest, tenant: Tenant, membership: Membership) -> HttpResponse:
        request.tenant = tenant
        request.membership = membership
        try:
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            return response
        finally:
            # The tenant ends with the transaction. Middleware further out sees no tenant:
            # an integration calling with a member's token is not that member using Keel
            # (reporting's activity days count people).
            request.tenant = request.membership = None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A bug in an API view answers JSON, like everything else under /api/v1/.
        if not request.path_info.startswith(PREFIX):
            return None
        return server_error(request, exception)


def _is_public(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.namespace == "api" and match.url_name in PUBLIC


def _invalid_token() -> HttpResponse:
    return json_error(
        401, "invalid_token", "The API token is not valid: it is malformed, unknown or revoked."
    )
