"""A workspace's members (admins): the list, invitations, role changes, deactivation."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from crm import services
from crm.forms import InviteForm, RoleForm
from crm.forms_util import add_service_errors
from crm.models import Membership, Role
from crm.permissions import role_required


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
