from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from crm.forms import KeelPasswordResetForm, KeelSetPasswordForm
from crm.views import accounts as account_views
from crm.views import system

accounts = [
    path("login/", account_views.KeelLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        account_views.throttled_password_reset,
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            form_class=KeelSetPasswordForm,
            post_reset_login=True,
            post_reset_login_backend="django.contrib.auth.backends.ModelBackend",
            success_url="/",
        ),
        name="password_reset_confirm",
    ),
    path("workspaces/", account_views.tenant_picker, name="tenant-picker"),
]

urlpatterns = [
    path("", account_views.root, name="root"),
    # Answered by crm.observability.ProbeMiddleware before these patterns are reached;
    # named here so that they reverse (and crm.models.RESERVED_SLUGS keeps them from slugs).
    path("healthz", system.healthz, name="healthz"),
    path("readyz", system.readyz, name="readyz"),
    path("metrics", system.metrics_view, name="metrics"),
    path("accounts/", include(accounts)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    # Members' private ICS feeds: fetched by calendar apps, without a session (mail).
    path("feeds/calendar/", include("mail.feed_urls")),
    path("<slug:tenant_slug>/", include("crm.tenant_urls")),
]

handler403 = system.error_403
handler404 = system.error_404
handler500 = system.error_500

__all__ = ["KeelPasswordResetForm"]
