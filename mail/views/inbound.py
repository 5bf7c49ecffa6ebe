"""The workspace's forward/BCC address: shown to every member, replaced by an admin."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from crm.models import Role
from crm.permissions import role_required
from mail.services import inbound


@role_required(Role.REP)
def inbound_address(request: HttpRequest) -> HttpResponse:
    address = inbound.inbound_address(request.tenant)
    context = {"address": str(address), "can_rotate": request.membership.is_admin}
    return render(request, "mail/inbound_address.html", context)


@role_required(Role.ADMIN)
@require_POST
def inbound_address_rotate(request: HttpRequest) -> HttpResponse:
    address = inbound.rotate_inbound_address(by=request.user)
    messages.success(
        request,
        f"The new address is {address}. The old one no longer accepts mail: "
        "tell the members to update it where they saved it.",
    )
    return redirect("mail:inbound-address", tenant_slug=request.tenant.slug)


urlpatterns = [
    path("mail/forwarding/", inbound_address, name="inbound-address"),
    path("mail/forwarding/rotate/", inbound_address_rotate, name="inbound-address-rotate"),
]
