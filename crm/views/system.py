"""What the server answers outside any workspace page: liveness, readiness and metrics
(answered by crm.observability.ProbeMiddleware before any other middleware), and the
error pages (crm.urls names them as Django's handlers)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from crm import health, metrics


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and answers: nothing else is asked (a liveness probe must not
    fail, and restart the process, because the database blipped)."""
    return _never_cached(JsonResponse({"status": "ok"}))


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when this process can serve (database, migrations, Redis), else 503 naming the
    failing check."""
    ready, checks = health.readiness()
    body = {"status": "ok" if ready else "fail", "checks": checks}
    return _never_cached(JsonResponse(body, status=200 if ready else 503))


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus's scrape (see crm.metrics for who may scrape)."""
    allowed = metrics.may_scrape(
        authorization=request.META.get("HTTP_AUTHORIZATION", ""),
        remote_addr=request.META.get("REMOTE_ADDR", ""),
    )
    if not allowed:
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    body, content_type = metrics.exposition()
    return _never_cached(HttpResponse(body, content_type=content_type))


def _never_cached(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    return response


def error_403(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "403.html", {"message": str(exception or "")}, status=403)


def error_404(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors: the failure may be in them or in the database.
    return HttpResponse(loader.get_template("500.html").render(), status=500)
