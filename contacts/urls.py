from django.urls import path

from contacts.views import merge, personal, records, work

app_name = "contacts"


def _record_urls(prefix: str, name: str, module_views: dict) -> list:
    v = module_views
    return [
        path(f"{prefix}/", v["list"], name=f"{name}-list"),
        path(f"{prefix}/new/", v["create"], name=f"{name}-create"),
        path(f"{prefix}/bulk/", v["bulk"], name=f"{name}-bulk"),
        path(f"{prefix}/duplicates/", v["duplicates"], name=f"{name}-duplicates"),
        path(f"{prefix}/<int:pk>/", v["detail"], name=f"{name}-detail"),
        path(f"{prefix}/<int:pk>/edit/", v["edit"], name=f"{name}-edit"),
        path(f"{prefix}/<int:pk>/log/", v["log"], name=f"{name}-log"),
        path(f"{prefix}/<int:pk>/tasks/new/", v["task"], name=f"{name}-task-create"),
        path(f"{prefix}/<int:pk>/merge/", v["merge"], name=f"{name}-merge"),
    ]


urlpatterns = [
    *_record_urls(
        "contacts",
        "contact",
        {
            "list": records.contact_list,
            "create": records.contact_create,
            "bulk": records.contact_bulk,
            "duplicates": personal.contact_duplicates,
            "detail": records.contact_detail,
            "edit": records.contact_edit,
            "log": records.contact_log,
            "task": records.contact_task_create,
            "merge": merge.contact_merge,
        },
    ),
    *_record_urls(
        "organizations",
        "organization",
        {
            "list": records.organization_list,
            "create": records.organization_create,
            "bulk": records.organization_bulk,
            "duplicates": personal.organization_duplicates,
            "detail": records.organization_detail,
            "edit": records.organization_edit,
            "log": records.organization_log,
            "task": records.organization_task_create,
            "merge": merge.organization_merge,
        },
    ),
    path("activities/new/", work.activity_create, name="activity-create"),
    path("activities/<int:pk>/edit/", work.activity_edit, name="activity-edit"),
    path("activities/<int:pk>/delete/", work.activity_delete, name="activity-delete"),
    path("tasks/new/", work.task_create, name="task-create"),
    path("tasks/<int:pk>/edit/", work.task_edit, name="task-edit"),
    *[
        path(
            f"tasks/<int:pk>/{action}/", work.task_action, {"action": action}, name=f"task-{action}"
        )
        for action in work.TASK_ACTIONS
    ],
    path("search/", personal.search, name="search"),
    path("views/save/", personal.view_save, name="view-save"),
    path("views/<int:pk>/delete/", personal.view_delete, name="view-delete"),
]
