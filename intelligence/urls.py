from django.urls import path

from intelligence import views

app_name = "intelligence"

urlpatterns = [
    path("accounts/", views.value_matrix, name="matrix"),
    path("accounts/at-risk/", views.at_risk, name="at-risk"),
    path("accounts/retention/", views.retention, name="retention"),
    path("accounts/<int:pk>/potential/", views.set_potential, name="potential"),
    path("settings/accounts/", views.settings_view, name="settings"),
]
