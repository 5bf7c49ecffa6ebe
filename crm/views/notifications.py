"""A member's notifications: the list, the bell, opening one, reading all, preferences."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from crm import notifications
from crm.models import Notification, NotificationKind, Role
from crm.permissions import role_required


@role_required(Role.REP)
def notification_list(request: HttpRequest) -> HttpResponse:
    items = Notification.objects.filter(recipient=request.user).order_by("-created_at")
    if request.GET.get("show") == "unread":
        items = items.filter(read_at__isnull=True)
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    return render(
        request, "crm/notifications.html", {"page": page, "show": request.GET.get("show", "all")}
    )


@role_required(Role.REP)
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The bell's partial, polled by htmx so the unread count stays current."""
    return render(
        request, "crm/notifications.html#bell", {"unread": notifications.unread_count(request.user)}
    )


@role_required(Role.REP)
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications.mark_read(notification)
    target = notification.url
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notification-list", tenant_slug=request.tenant.slug)


@role_required(Role.REP)
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    notifications.mark_all_read(request.user)
    return redirect("notification-list", tenant_slug=request.tenant.slug)


@role_required(Role.REP)
def notification_preferences(request: HttpRequest) -> HttpResponse:
    current = notifications.preferences_for(request.user)
    if request.method == "POST":
        choices = {
            kind: (f"{kind}:in_app" in request.POST, f"{kind}:email" in request.POST)
            for kind in NotificationKind.values
        }
        notifications.save_preferences(request.user, choices)
        messages.success(request, "Notification preferences saved.")
        return redirect("notification-preferences", tenant_slug=request.tenant.slug)
    rows = [
        {
            "kind": kind,
            "label": label,
            "in_app": current[kind].in_app if kind in current else True,
            "email": current[kind].email if kind in current else True,
        }
        for kind, label in NotificationKind.choices
    ]
    return render(request, "crm/notification_preferences.html", {"rows": rows})
