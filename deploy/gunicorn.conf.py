"""gunicorn's settings for Keel's web processes: `gunicorn -c deploy/gunicorn.conf.py
crm.wsgi:application` (the Dockerfile and docker-compose's web service).

gunicorn reads this module's globals whose names are its settings; the rest (imports,
helpers) it ignores. Environment: GUNICORN_BIND (0.0.0.0:8000), WEB_CONCURRENCY (worker
processes, 3), GUNICORN_TIMEOUT (seconds, 60), PROMETHEUS_MULTIPROC_DIR and LOG_FORMAT.

Metrics: each worker process writes its samples to PROMETHEUS_MULTIPROC_DIR and whichever
worker answers /metrics adds up every worker's files (crm/metrics.py). The directory is
emptied when the server starts, and a worker that exits hands back its live files.
"""

import os
from pathlib import Path

from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# No gunicorn access log: the app writes one line per request (logger keel.access), with
# the request id, view, status, duration and queries, in the same format as the rest.
accesslog = None

_debug = os.environ.get("DJANGO_DEBUG", "").lower() in {"1", "true", "yes", "on"}
if (os.environ.get("LOG_FORMAT") or ("text" if _debug else "json")) == "json":
    # gunicorn's own lines (booting, worker timeouts) as JSON lines too.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "crm.logs.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False}
        },
    }


def on_starting(server) -> None:
    """Samples of an earlier run must not be added to this one's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
