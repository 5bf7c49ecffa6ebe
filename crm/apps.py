import logging

from celery import signals
from django.apps import AppConfig
from django.conf import settings


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Keel core"

    def ready(self) -> None:
        from crm import observability

        # Request ids into task messages and back out, task metrics (crm.observability).
        signals.before_task_publish.connect(observability.task_published, weak=False)
        signals.task_prerun.connect(observability.task_started, weak=False)
        signals.task_postrun.connect(observability.task_finished, weak=False)
        signals.task_failure.connect(observability.task_failed, weak=False)
        signals.task_retry.connect(observability.task_retried, weak=False)
        signals.worker_init.connect(observability.start_worker_metrics, weak=False)
        # Workers and beat log as LOGGING says (JSON lines in production), not as Celery's
        # own setup would (it replaces the root logger's handlers when nobody answers).
        signals.setup_logging.connect(observability.keep_django_logging, weak=False)
        if settings.LOG_FORMAT == "json":  # warnings as JSON lines too, not bare stderr text
            logging.captureWarnings(True)
