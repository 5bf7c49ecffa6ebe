"""Signing in, resetting a password, and where a signed-in user lands (their workspace,
or the picker when they belong to several)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from crm.forms import KeelLoginForm, KeelPasswordResetForm
from crm.models import Membership
from crm.tenancy import user_scope


class KeelLoginView(auth_views.LoginView):
    form_class = KeelLoginForm
    redirect_authenticated_user = True


def throttled_password_reset(request: HttpRequest) -> HttpResponse:
    """Django's password reset, limited per client address so it cannot be used to spam."""
    if request.method == "POST":
        key = "pwreset:" + request.META.get("REMOTE_ADDR", "")
        cache.add(key, 0, timeout=3600)
        if cache.incr(key) > settings.PASSWORD_RESET_RATE:
            form = KeelPasswordResetForm(request.POST)
            form.is_valid()
            form.add_error(None, "Too many reset requests from your address. Try again in an hour.")
            return render(
                request, "registration/password_reset_form.html", {"form": form}, status=429
            )
    return auth_views.PasswordResetView.as_view(form_class=KeelPasswordResetForm)(request)


def _active_memberships(request: HttpRequest) -> list[Membership]:
    with transaction.atomic(), user_scope(request.user.pk):
        return list(
            Membership.unscoped.filter(user=request.user, is_active=True, tenant__is_active=True)
            .select_related("tenant")
            .order_by("tenant__name")
        )


@login_required
def root(request: HttpRequest) -> HttpResponse:
    memberships = _active_memberships(request)
    if len(memberships) == 1:
        return redirect(memberships[0].tenant)
    return redirect("tenant-picker")


@login_required
def tenant_picker(request: HttpRequest) -> HttpResponse:
    memberships = _active_memberships(request)
    return render(request, "crm/tenant_picker.html", {"memberships": memberships})
