"""What the server answers outside any workspace page: the health check and the error
pages (crm.urls names them as Django's handlers)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def error_403(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "403.html", {"message": str(exception or "")}, status=403)


def error_404(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors: the failure may be in them or in the database.
    return HttpResponse(loader.get_template("500.html").render(), status=500)
