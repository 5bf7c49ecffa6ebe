"""A member's private calendar feed: the page that makes, replaces and revokes its URL
(under the tenant), and the feed itself (outside it: a calendar app has no session, the
token in the URL is the key; mail/feed_urls.py, included by crm/urls.py)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from crm.models import Role, Tenant
from crm.permissions import role_required
from crm.tenancy import tenant_context
from mail.models import CalendarFeed
from mail.services import feeds


def _page(request: HttpRequest, *, token: str = "", status: int = 200) -> HttpResponse:
    feed = CalendarFeed.objects.filter(user=request.user).first()
    url = ""
    if token:
        url = request.build_absolute_uri(
            reverse("calendar-feed-ics", args=[request.tenant.slug, token])
        )
    response = render(
        request, "mail/calendar_feed.html", {"feed": feed, "feed_url": url}, status=status
    )
    if token:
        response["Cache-Control"] = "no-store"  # the URL is shown once, and not kept
    return response


@role_required(Role.REP)
@require_GET
def calendar_feed(request: HttpRequest) -> HttpResponse:
    return _page(request)


@role_required(Role.REP)
@require_POST
def calendar_feed_create(request: HttpRequest) -> HttpResponse:
    try:
        _feed, token = feeds.create_feed(user=request.user, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("mail:calendar-feed", tenant_slug=request.tenant.slug)
    return _page(request, token=token)


@role_required(Role.REP)
@require_POST
def calendar_feed_revoke(request: HttpRequest) -> HttpResponse:
    feed = CalendarFeed.objects.filter(user=request.user).first()
    if feed is not None:
        feeds.revoke_feed(feed, by=request.user)
        messages.success(request, "Calendar feed revoked; its URL no longer works.")
    return redirect("mail:calendar-feed", tenant_slug=request.tenant.slug)


@require_GET
def feed_ics(request: HttpRequest, workspace: str, token: str) -> HttpResponse:
    """The ICS of the feed `token` of workspace `workspace`; 404 for anything unknown."""
    tenant = Tenant.objects.filter(slug=workspace, is_active=True).first()
    if tenant is None:
        raise Http404("No such feed.")
    with transaction.atomic(), tenant_context(tenant):
        feed = feeds.feed_for(token)
        if feed is None:
            raise Http404("No such feed.")
        now = timezone.now()
        body = feeds.render_feed(feed, now=now, base_url=request.build_absolute_uri("/")[:-1])
        feeds.mark_used(feed, now=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="keel.ics"'
    response["Cache-Control"] = "private, no-cache"
    return response


urlpatterns = [
    path("mail/calendar/", calendar_feed, name="calendar-feed"),
    path("mail/calendar/new/", calendar_feed_create, name="calendar-feed-create"),
    path("mail/calendar/revoke/", calendar_feed_revoke, name="calendar-feed-revoke"),
]

# Outside the tenant's URLs (crm/urls.py includes mail/feed_urls.py): the slug is not
# named `tenant_slug`, so TenantMiddleware does not ask for a login.
feed_urlpatterns = [
    path("<slug:workspace>/<slug:token>.ics", feed_ics, name="calendar-feed-ics"),
]
