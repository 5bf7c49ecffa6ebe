"""Pages under /<tenant>/settings/: a member's API tokens, the workspace's webhooks."""

from django.urls import path

from api import web_views as views

app_name = "integrations"

urlpatterns = [
    path("settings/api-tokens/", views.token_list, name="token-list"),
    path("settings/api-tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("settings/webhooks/", views.webhook_list, name="webhook-list"),
    path("settings/webhooks/<int:pk>/", views.webhook_detail, name="webhook-detail"),
    path("settings/webhooks/<int:pk>/test/", views.webhook_test, name="webhook-test"),
    path("settings/webhooks/<int:pk>/enable/", views.webhook_enable, name="webhook-enable"),
    path("settings/webhooks/<int:pk>/disable/", views.webhook_disable, name="webhook-disable"),
    path("settings/webhooks/<int:pk>/rotate/", views.webhook_rotate, name="webhook-rotate"),
    path("settings/webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook-delete"),
    path(
        "settings/webhooks/deliveries/<int:pk>/redeliver/",
        views.delivery_redeliver,
        name="delivery-redeliver",
    ),
]
