"""The project's URLs plus one tenant page that logs a line and queues a task that logs
one (for the request id's way from a request into its tasks)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import HttpResponse
from django.urls import path

from crm.celery import TenantTask
from crm.celery import app as celery_app
from crm.urls import urlpatterns as project_urlpatterns

logger = logging.getLogger("tests.logging")


@celery_app.task(base=TenantTask, name="tests.log_from_task")
def log_from_task(*, tenant_id: int) -> str:
    logger.info("inside the task")
    return "logged"


def log_and_queue(request):
    logger.info("inside the view")
    tenant_id = request.tenant.pk
    transaction.on_commit(lambda: log_from_task.delay(tenant_id=tenant_id))
    return HttpResponse("queued")


urlpatterns = [
    path("<slug:tenant_slug>/log-and-queue/", log_and_queue),
    *project_urlpatterns,
]
