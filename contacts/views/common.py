"""What every contacts view shares: the role check, the tenant's clock, htmx answers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from crm.models import Role
from crm.permissions import role_required


def rep_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Reps and above; dates are read and shown in the tenant's time zone."""

    @role_required(Role.REP)
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with timezone.override(request.tenant.tz):
            return view(request, *args, **kwargs)

    return wrapped


def post_only(request: HttpRequest) -> HttpResponse | None:
    """After the object lookup (another tenant's id is a 404 for any method), refuse GET."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return None


def next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or for htmx requests only its named partial."""
    name = f"{template}#{partial}" if partial and request.htmx else template
    response = render(request, name, context, status=status)
    if partial:
        patch_vary_headers(response, ["HX-Request"])
    return response


def done(request: HttpRequest, url: str, message: str = "") -> HttpResponse:
    """After a successful change: a toast, and back to `url` (htmx follows it too)."""
    if message:
        messages.success(request, message)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)
