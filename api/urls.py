"""/api/v1/: the endpoints, the OpenAPI schema and its interactive docs."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from api import errors, views

app_name = "api"


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the project's static files (drf-spectacular-sidecar), its start-up
    script served by this view, so the page runs under Keel's CSP without exceptions."""

    template_name = "api/swagger_ui.html"


router = SimpleRouter(trailing_slash=False)
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("deals", views.DealViewSet, basename="deal")
router.register("activities", views.ActivityViewSet, basename="activity")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("pipelines", views.PipelineViewSet, basename="pipeline")
router.register("stages", views.StageViewSet, basename="stage")
router.register("lost-reasons", views.LostReasonViewSet, basename="lost-reason")
router.register("members", views.MemberViewSet, basename="member")

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", DocsView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
    re_path(r"", errors.not_found),  # anything else under /api/v1/: a JSON 404
]
