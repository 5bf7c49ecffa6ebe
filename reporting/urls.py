from django.urls import path

from reporting import views

app_name = "reporting"

urlpatterns = [
    path("reports/", views.manager_dashboard, name="manager"),
    path("reports/health/", views.health_dashboard, name="health"),
    path("reports/mine/", views.rep_dashboard, name="rep"),
    path("reports/records/", views.records, name="records"),
    path("reports/export.csv", views.export, name="export"),
    path("reports/targets/", views.target_list, name="targets"),
    path("reports/targets/<int:pk>/delete/", views.target_delete, name="target-delete"),
]
