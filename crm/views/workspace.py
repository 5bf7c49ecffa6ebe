"""The workspace's own settings: name, time zone, currency (managers see, admins change)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from crm import services
from crm.forms import TenantSettingsForm
from crm.models import Role
from crm.permissions import role_required


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
