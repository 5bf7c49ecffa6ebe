"""Settings → Automations (included from crm/tenant_urls.py under settings/automations/)."""

from django.urls import path

from pipeline.views import automations

app_name = "automations"

urlpatterns = [
    path("", automations.automation_index, name="index"),
    path("cadences/new/", automations.cadence_add, name="cadence-add"),
    path("cadences/<int:pk>/delete/", automations.cadence_delete, name="cadence-delete"),
    path("rules/new/", automations.rule_create, name="rule-create"),
    path("rules/<int:pk>/", automations.rule_edit, name="rule-edit"),
    path("rules/<int:pk>/delete/", automations.rule_delete, name="rule-delete"),
]
