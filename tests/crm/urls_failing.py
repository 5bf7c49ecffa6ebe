"""The project's URLs plus one tenant page that writes and then fails (for the rollback test)."""

from django.urls import path

from crm.audit import record_event
from crm.urls import urlpatterns as project_urlpatterns


def write_then_fail(request):
    record_event(actor=request.user, verb="test.half_written", target=request.tenant)
    raise RuntimeError("the view fails after writing")


urlpatterns = [
    path("<slug:tenant_slug>/fail/", write_then_fail),
    *project_urlpatterns,
]
