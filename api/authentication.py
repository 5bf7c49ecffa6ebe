"""DRF's side of API authentication: api.middleware.ApiMiddleware has done the work."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request


class TokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer keel_…`: the member the middleware found for the token."""

    def authenticate(self, request: Request):
        django_request = request._request
        if getattr(django_request, "api_auth", None) != "token":
            return None
        return (django_request.user, django_request.api_token)

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing.
        return 'Bearer realm="api"'


class TenantSessionAuthentication(SessionAuthentication):
    """Keel's own pages: the session cookie, `X-Keel-Tenant`, and a CSRF token on writes."""

    def authenticate(self, request: Request):
        django_request = request._request
        if getattr(django_request, "api_auth", None) != "session":
            return None
        self.enforce_csrf(request)
        return (django_request.user, None)
