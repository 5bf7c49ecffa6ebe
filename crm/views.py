from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from crm import services
from crm.forms import InviteForm, KeelLoginForm, KeelPasswordResetForm, RoleForm, TenantSettingsForm
from crm.forms_util import add_service_errors
from crm.models import Membership, Role
from crm.permissions import role_required
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


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@role_required(Role.ADMIN)
def member_list(request: HttpRequest) -> HttpResponse:
    members = Membership.objects.select_related("user").order_by("-is_active", "user__email")
    return render(request, "crm/member_list.html", {"members": members, "form": InviteForm()})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def member_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invite_member(
                by=request.user,
                base_url=request.build_absolute_uri("/").rstrip("/"),
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("member-list", tenant_slug=request.tenant.slug)
    status = 422 if form.is_bound else 200
    return render(request, "crm/member_invite.html", {"form": form}, status=status)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk)
    form = RoleForm(request.POST or None, initial={"role": membership.role})
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "deactivate":
                services.deactivate_membership(membership, by=request.user)
                messages.success(
                    request, f"{membership.user} can no longer sign in to {request.tenant}."
                )
            elif action == "reactivate":
                services.reactivate_membership(membership, by=request.user)
                messages.success(request, f"{membership.user} has access again.")
            elif form.is_valid():
                services.change_role(membership, role=form.cleaned_data["role"], by=request.user)
                messages.success(
                    request, f"{membership.user} is now {membership.get_role_display()}."
                )
            else:
                raise ValidationError("Choose a valid role.")
        except ValidationError as exc:
            membership.refresh_from_db()
            form = RoleForm({"role": membership.role})
            form.is_valid()
            form.add_error(None, exc.messages)
            return render(
                request, "crm/member_edit.html", {"member": membership, "form": form}, status=422
            )
        return redirect("member-list", tenant_slug=request.tenant.slug)
    return render(request, "crm/member_edit.html", {"member": membership, "form": form})


@role_required(Role.MANAGER)
@require_http_methods(["GET", "POST"])
def tenant_settings(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    can_change = request.membership.is_admin
    initial = {"name": tenant.name, "time_zone": tenant.time_zone, "currency": tenant.currency}
    form = TenantSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not can_change:
            return render(request, "403.html", status=403)
        if form.is_valid():
            services.update_tenant(tenant, by=request.user, **form.cleaned_data)
            messages.success(request, "Workspace settings saved.")
            return redirect("tenant-settings", tenant_slug=tenant.slug)
    status = 422 if form.is_bound else 200
    return render(
        request, "crm/tenant_settings.html", {"form": form, "can_change": can_change}, status=status
    )


def error_403(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "403.html", {"message": str(exception or "")}, status=403)


def error_404(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors: the failure may be in them or in the database.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)
