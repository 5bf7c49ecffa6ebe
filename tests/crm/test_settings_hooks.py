"""Settings hold settings: every dotted name of Keel's own code left in crm/settings.py is
listed here with the reason it must be a name (Django, DRF, drf-spectacular or Celery ask
for one, or a hook lets crm call an app to its right). Anything else is imported where it
is used or registered in its app's AppConfig.ready(), so the import graph shows it
(tests/test_architecture.py reads that graph)."""

from __future__ import annotations

from django.apps import apps
from django.utils.module_loading import import_string

from crm import settings as keel_settings
from crm.celery import app as celery_app

KEEL_APPS = (
    "crm",
    "contacts",
    "pipeline",
    "mail",
    "governance",
    "reporting",
    "intelligence",
    "api",
    "demo",
    "benchmarks",
)

# Django, DRF and drf-spectacular name these in settings by design.
FRAMEWORK = {
    "ROOT_URLCONF": ["crm.urls"],
    "WSGI_APPLICATION": ["crm.wsgi.application"],
    "MIDDLEWARE": [
        "crm.observability.ProbeMiddleware",
        "crm.observability.RequestMiddleware",
        "crm.middleware.TenantMiddleware",
        "reporting.middleware.MemberActivityMiddleware",
        "api.middleware.ApiMiddleware",
        "crm.observability.MemberMiddleware",
    ],
    # logging.config.dictConfig names the JSON formatter and the log context's filter.
    "LOGGING": ["crm.logs.ContextFilter", "crm.logs.JsonFormatter"],
    "TEMPLATES": ["crm.context_processors.keel"],
    "REST_FRAMEWORK": [
        "api.authentication.TokenAuthentication",
        "api.authentication.TenantSessionAuthentication",
        "api.permissions.MemberWithScope",
        "api.throttling.TokenRateThrottle",
        "api.pagination.Cursor",
        "api.errors.exception_handler",
    ],
    "SPECTACULAR_SETTINGS": ["api.schema.add_error_responses"],
}
# An app label and model name, not an import path.
MODELS = {"AUTH_USER_MODEL": ["crm.User"]}
# Mail domains that begin like the mail app's name: host names, not import paths.
DOMAINS = {
    "MAIL_DOMAIN": [keel_settings.MAIL_DOMAIN],
    "MAIL_IGNORED_DOMAINS": [
        d for d in keel_settings.MAIL_IGNORED_DOMAINS if d.startswith("mail.")
    ],
    "MAIL_PERSONAL_DOMAINS": ["mail.ru"],
}
# Hooks: crm (or reporting, for its sibling governance) calls an app it cannot import.
HOOKS = {
    "KEEL_TENANT_SETUP": [
        "pipeline.services.create_default_pipelines",
        "pipeline.services.renewals.create_renewals_pipeline",
    ],
    "KEEL_EVENT_HANDLERS": ["api.webhooks.events_published"],
    "KEEL_REQUIRED_FIELDS": ["governance.quality.required_fields"],
}
# Celery task names (beat's schedule), not import paths: each must be a registered task.
TASKS = {
    "CELERY_BEAT_SCHEDULE": [
        "contacts.scan_task_reminders",
        "contacts.scan_overdue_digests",
        "contacts.scan_pending_emails",
        "pipeline.scan_stale_deals",
        "pipeline.scan_renewals",
        "pipeline.scan_weekly_summaries",
        "reporting.scan_daily_snapshots",
        "intelligence.scan_health_scores",
        "api.scan_webhooks",
        "api.scan_purge",
        "governance.scan_retention",
        "mail.scan_mailboxes",
        "mail.scan_held_meetings",
    ],
    # Each task's queue (tests/crm/test_queues.py checks that every task has one).
    "KEEL_TASK_QUEUES": [
        name
        for names in keel_settings.KEEL_TASK_QUEUES.values()
        for name in names
        if name.partition(".")[0] in KEEL_APPS
    ],
}


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _strings(item)


def _keel_names() -> dict[str, list[str]]:
    """Every string in the settings module that names something in a Keel app."""
    found: dict[str, list[str]] = {}
    for setting in dir(keel_settings):
        if not setting.isupper():
            continue
        for text in _strings(getattr(keel_settings, setting)):
            head, dot, rest = text.partition(".")
            if dot and head in KEEL_APPS and rest and " " not in text and "/" not in text:
                found.setdefault(setting, []).append(text)
    return found


def _listed(*groups: dict[str, list[str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for group in groups:
        for setting, names in group.items():
            merged.setdefault(setting, []).extend(names)
    return merged


def _sorted(names: dict[str, list[str]]) -> dict[str, list[str]]:
    return {setting: sorted(values) for setting, values in sorted(names.items())}


def test_every_dotted_name_in_settings_is_listed_here():
    """A new dotted name in settings fails here: import it where it is used, register it in
    an AppConfig.ready(), or (when it must be a name) add it to a list above with its reason."""
    assert _sorted(_keel_names()) == _sorted(_listed(FRAMEWORK, MODELS, DOMAINS, HOOKS, TASKS))


def test_every_listed_name_still_resolves():
    for names in _listed(FRAMEWORK, HOOKS).values():
        for name in names:
            if name == "crm.urls":
                __import__(name)
            else:
                assert import_string(name), name
    for names in MODELS.values():
        for name in names:
            assert apps.get_model(name)
    celery_app.loader.import_default_modules()
    for names in TASKS.values():
        for name in names:
            assert name in celery_app.tasks, name


def test_the_reader_sees_the_dotted_names():
    found = _keel_names()
    assert "api.webhooks.events_published" in found["KEEL_EVENT_HANDLERS"]
    assert "contacts.scan_task_reminders" in found["CELERY_BEAT_SCHEDULE"]
