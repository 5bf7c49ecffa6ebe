"""Integration pages: every member's own API tokens; the admins' webhooks and their log."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render

from api import tokens, webhooks
from api.forms import TokenForm, WebhookForm
from api.models import ApiToken, WebhookDelivery, WebhookEndpoint
from crm.forms_util import add_service_errors
from crm.models import Role
from crm.outbox import EVENTS
from crm.permissions import role_required
from crm.templatetags.keel import tenant_reverse

LOG_SIZE = 50


def _post_only(request: HttpRequest) -> HttpResponse | None:
    """After the object lookup (another tenant's id is a 404 for any method), refuse GET."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return None


# API tokens: each member manages their own; admins also see (and revoke) everyone's.


@role_required(Role.REP)
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    created = secret = None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = tokens.create_api_token(
                membership=request.membership,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = TokenForm()
    mine = list(ApiToken.objects.filter(user=request.user))
    others = []
    if request.membership.is_admin:
        others = list(ApiToken.objects.exclude(user=request.user).select_related("user"))
    for token in [*mine, *others]:
        token.display = tokens.display_prefix(token)
    context = {
        "form": form,
        "created": created,
        "secret": secret,
        "mine": mine,
        "others": others,
        "api_base": request.build_absolute_uri("/api/v1/"),
    }
    response = render(request, "api/tokens.html", context, status=422 if form.errors else 200)
    if secret:
        response["Cache-Control"] = "no-store"  # the secret is shown once, and not kept
    return response


@role_required(Role.REP)
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    if token.user_id != request.user.pk and not request.membership.is_admin:
        raise Http404("No such token.")
    if refused := _post_only(request):
        return refused
    tokens.revoke_api_token(token, by=request.user)
    messages.success(request, f"Token “{token.name}” revoked; it no longer works.")
    return redirect(tenant_reverse("integrations:token-list"))


# Webhooks (admins)


@role_required(Role.ADMIN)
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST or None, initial={"events": list(EVENTS)})
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = webhooks.create_endpoint(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Endpoint added. Send a test to check that it answers.")
            return redirect(tenant_reverse("integrations:webhook-detail", endpoint.pk))
    context = {
        "form": form,
        "endpoints": WebhookEndpoint.objects.all(),
        "events": EVENTS,
    }
    return render(request, "api/webhooks.html", context, status=422 if form.errors else 200)


def _endpoint(pk: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, pk=pk)


@role_required(Role.ADMIN)
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events}
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            webhooks.update_endpoint(endpoint, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect(tenant_reverse("integrations:webhook-detail", endpoint.pk))
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)[:LOG_SIZE]
    context = {"endpoint": endpoint, "form": form, "deliveries": deliveries, "events": EVENTS}
    response = render(
        request, "api/webhook_detail.html", context, status=422 if form.errors else 200
    )
    response["Cache-Control"] = "no-store"  # it shows the signing secret
    return response


def _endpoint_action(request: HttpRequest, pk: int, action, message: str) -> HttpResponse:
    endpoint = _endpoint(pk)
    if refused := _post_only(request):
        return refused
    action(endpoint, by=request.user)
    messages.success(request, message)
    return redirect(tenant_reverse("integrations:webhook-detail", endpoint.pk))


@role_required(Role.ADMIN)
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    return _endpoint_action(
        request, pk, webhooks.send_test, "Test event queued; its result appears in the log below."
    )


@role_required(Role.ADMIN)
def webhook_enable(request: HttpRequest, pk: int) -> HttpResponse:
    return _endpoint_action(request, pk, webhooks.enable_endpoint, "Endpoint enabled.")


@role_required(Role.ADMIN)
def webhook_disable(request: HttpRequest, pk: int) -> HttpResponse:
    def disable(endpoint, *, by):
        return webhooks.disable_endpoint(endpoint, by=by, reason=f"Disabled by {by}.")

    return _endpoint_action(request, pk, disable, "Endpoint disabled; nothing is sent to it.")


@role_required(Role.ADMIN)
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    return _endpoint_action(
        request,
        pk,
        webhooks.rotate_secret,
        "New signing secret created: update the receiver, the old one no longer verifies.",
    )


@role_required(Role.ADMIN)
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    if refused := _post_only(request):
        return refused
    webhooks.delete_endpoint(endpoint, by=request.user)
    messages.success(request, f"Endpoint {endpoint.url} deleted.")
    return redirect(tenant_reverse("integrations:webhook-list"))


@role_required(Role.ADMIN)
def delivery_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)
    if refused := _post_only(request):
        return refused
    try:
        webhooks.redeliver(delivery, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Delivery queued again.")
    return redirect(tenant_reverse("integrations:webhook-detail", delivery.endpoint_id))
