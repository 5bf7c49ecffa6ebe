"""Settings → fields, choice lists, data quality, imports, audit trail, privacy; exports of
the lists; a contact's privacy page. Included under /<tenant-slug>/ by crm.tenant_urls."""

from django.urls import path

from governance.views import audit, data, privacy, settings

app_name = "governance"

urlpatterns = [
    path("settings/", settings.overview, name="overview"),
    path("settings/fields/", settings.field_list, name="field-list"),
    path("settings/fields/new/", settings.field_create, name="field-create"),
    path("settings/fields/expected/", settings.expected_fields, name="expected-fields"),
    path("settings/fields/<int:pk>/", settings.field_edit, name="field-edit"),
    path("settings/fields/<int:pk>/<str:action>/", settings.field_action, name="field-action"),
    path("settings/choices/", settings.choice_lists, name="choice-lists"),
    path("settings/data-quality/", settings.data_quality, name="data-quality"),
    path("settings/imports/", data.import_list, name="import-list"),
    path("settings/imports/<int:pk>/", data.import_detail, name="import-detail"),
    path("settings/imports/<int:pk>/progress/", data.import_progress, name="import-progress"),
    path("settings/imports/<int:pk>/errors.csv", data.import_errors, name="import-errors"),
    path("settings/audit/", audit.audit_trail, name="audit"),
    path("settings/privacy/", privacy.privacy_overview, name="privacy"),
    # One URL per list (no kind argument: the walker tries route arguments as objects).
    *(
        path(f"exports/{kind}.csv", data.export_list, {"kind": kind}, name=f"export-{kind}")
        for kind in ("contacts", "organizations", "deals")
    ),
    path("contacts/<int:pk>/privacy/", privacy.contact_privacy, name="contact-privacy"),
    path("contacts/<int:pk>/consent/", privacy.consent_record, name="consent-record"),
    path("contacts/<int:pk>/data-export/", privacy.contact_data_export, name="contact-data-export"),
    path("contacts/<int:pk>/erase/", privacy.contact_erase, name="contact-erase"),
]
