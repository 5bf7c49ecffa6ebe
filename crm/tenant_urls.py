"""Every URL under `/<tenant-slug>/`. Each app adds its own include here.

The cross-tenant test walks this list, so a new pattern is covered automatically.
"""

from django.urls import include, path

from contacts.views.personal import my_day
from crm.views import members, workspace
from crm.views import notifications as notes
from pipeline.urls import automation_urls

urlpatterns = [
    path("", my_day, name="home"),  # My day lives in contacts (crm cannot import it)
    path("settings/members/", members.member_list, name="member-list"),
    path("settings/members/invite/", members.member_invite, name="member-invite"),
    path("settings/members/<int:pk>/", members.member_edit, name="member-edit"),
    path("settings/workspace/", workspace.tenant_settings, name="tenant-settings"),
    path("notifications/", notes.notification_list, name="notification-list"),
    path("notifications/bell/", notes.notification_bell, name="notification-bell"),
    path("notifications/<int:pk>/open/", notes.notification_open, name="notification-open"),
    path("notifications/read-all/", notes.notification_read_all, name="notification-read-all"),
    path(
        "notifications/preferences/",
        notes.notification_preferences,
        name="notification-preferences",
    ),
    path("settings/automations/", include(automation_urls)),
    path("", include("contacts.urls")),
    path("", include("pipeline.urls")),
    path("", include("reporting.urls")),
    path("", include("intelligence.urls")),
    path("", include("governance.urls")),
    path("", include("mail.urls")),
    path("", include("api.web_urls")),
]
