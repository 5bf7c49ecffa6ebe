"""Keel's one settings module. Every value comes from the environment (see .env.example).

The defaults are the embedded ones (SQLite, kombu's filesystem broker, local memory cache,
mail written to files) so that `make run` works with nothing but Python and Node.js;
production and CI set DATABASE_URL, CELERY_BROKER_URL and REDIS_URL.
"""

from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = BASE_DIR / ".run"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
if DEBUG:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-dev-key-only-for-debug-runs")
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.admin",
    "django_htmx",
    "django_filters",
    "template_partials",
    "csp",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crm",
    "contacts",
    "pipeline",
    "governance",
    "reporting",
    "intelligence",
    "mail",
    "api",
    "benchmarks",  # seed_scale and bench (issue 10); imports every app, nothing imports it
    "demo",  # seed_demo and its seeders; imports every app, nothing imports it
]

MIDDLEWARE = [
    # /healthz, /readyz and /metrics, answered before anything else runs (crm.observability).
    "crm.observability.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The request id (X-Request-ID), latency and queries per request, the access line.
    "crm.observability.RequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "crm.middleware.TenantMiddleware",
    # After the tenant middleware, inside its transaction: who used Keel on which day.
    "reporting.middleware.MemberActivityMiddleware",
    # /api/v1/: resolves the token's (or session's) member and runs the request inside a
    # transaction with the tenant set, as TenantMiddleware does for /<slug>/.
    "api.middleware.ApiMiddleware",
    # Last: the tenant and member either of the two above resolved, into the log context.
    "crm.observability.MemberMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
AUTH_USER_MODEL = "crm.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.keel",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web threads, worker, beat's scans) share the file in `make run`.
    # WAL lets readers run while one connection writes. Every transaction BEGINs
    # IMMEDIATE, taking the write lock up front: a deferred transaction that has read and
    # then writes while another connection writes fails at once with "database is locked"
    # (SQLite cannot wait there without risking a deadlock), whereas a waiting BEGIN
    # waits up to the busy timeout. Read-only GETs are no exception: a tenant request is
    # one transaction (crm.middleware) and even a GET may write (a member's first visit of
    # the day is recorded). So tenant requests and tasks take turns; in one runserver
    # process they share one interpreter anyway, and statements outside a transaction
    # still read concurrently. Measured by hand with six sessions and a worker: deferred
    # GETs still failed on first visits and sign-ins, IMMEDIATE ones served more pages
    # with no error (tests/crm/test_sqlite_concurrency.py keeps the "no error" part).
    # The timeout is the longest a transaction waits for its turn; the slowest page seen
    # took 15 s, with six sessions clicking without pause and beat's scans on a loaded
    # machine.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
    # Covering indexes (Meta.indexes with include=) serve PostgreSQL; SQLite builds them on
    # their key columns alone, which is correct, so `migrate` need not warn about it.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif not env.bool("DATABASE_JIT", default=False):
    # PostgreSQL's JIT compiles a query whose estimated cost passes jit_above_cost; the
    # scorecard's and the scans' correlated subqueries are estimated far above their
    # real cost, and compiling took 0.75 s of a 1.1 s scorecard query and 1.9 s of the
    # 2.7 s stale scan (bench/NOTES.md items 5 and 7). These are index lookups, not the
    # long CPU-bound scans JIT pays off on. DATABASE_JIT=true turns it back on.
    opts = DATABASES["default"].setdefault("OPTIONS", {})
    opts["options"] = f"{opts.get('options', '')} -c jit=off".strip()
# The scanner: a second connection for beat's set-based scans over all tenants. On
# PostgreSQL its role has BYPASSRLS (the app's role must not); only crm/scans.py uses it.
DATABASES["scanner"] = env.db(
    "DATABASE_SCANNER_URL",
    default=env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
)
DATABASES["scanner"]["OPTIONS"] = DATABASES["default"].get("OPTIONS", {})
DATABASES["scanner"]["TEST"] = {"MIRROR": "default"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "root"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3  # invitations use the same link

# Sign-in throttling: five failures for one account from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
PASSWORD_RESET_RATE = env.int("PASSWORD_RESET_RATE", default=5)  # per address and hour

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/chart.js", NODE_MODULES / "chart.js" / "dist"),
    ("vendor/sortablejs", NODE_MODULES / "sortablejs"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("DJANGO_STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(RUN_DIR / "media")))

if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:  # mail lands as files in .run/mail, where a developer can read it
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = RUN_DIR / "mail"
# Where people reach this installation; links in e-mails start with it.
KEEL_BASE_URL = env.str("KEEL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Keel <keel@localhost>")

# Security. The production values apply whenever DEBUG is off.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 24 * 14)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Celery. Beat's schedule lives here; per-tenant behaviour lives in the database.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_FS_DIR = Path(env.str("CELERY_FS_DIR", default=str(RUN_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FS_DIR / "queue"),
        "data_folder_out": str(CELERY_FS_DIR / "queue"),
        "processed_folder": str(CELERY_FS_DIR / "processed"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 10 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 9 * 60
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat only asks the database what is due; each scan queues one task per tenant with work.
# A scan expires before the next one is sent, so a backlog never piles up in the broker.
CELERY_BEAT_SCHEDULE: dict = {
    "task-reminders": {
        "task": "contacts.scan_task_reminders",
        "schedule": 60,
        "options": {"expires": 50},
    },
    "overdue-digests": {
        "task": "contacts.scan_overdue_digests",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    "pending-emails": {
        "task": "contacts.scan_pending_emails",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    "stale-deals": {
        "task": "pipeline.scan_stale_deals",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    "renewals": {
        "task": "pipeline.scan_renewals",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    "weekly-summaries": {
        "task": "pipeline.scan_weekly_summaries",
        "schedule": 15 * 60,
        "options": {"expires": 14 * 60},
    },
    # Finds tenants whose local midnight passed without today's snapshot (idempotent).
    "reporting-daily-snapshots": {"task": "reporting.scan_daily_snapshots", "schedule": 60 * 60},
    # Finds tenants with a customer not yet scored for its local today (idempotent).
    "intelligence-health-scores": {
        "task": "intelligence.scan_health_scores",
        "schedule": 60 * 60,
        "options": {"expires": 50 * 60},
    },
}

# Celery queues (README "Queues and workers"): docker-compose runs a worker group per
# queue group, so that an import, a burst of webhook deliveries or a slow mailbox never
# holds up a due reminder. Every Keel task is placed here on purpose (a test fails on a
# task that is not); a worker started without -Q consumes every queue (make run, tests).
KEEL_TASK_QUEUES: dict[str, list[str]] = {
    # Beat's cross-tenant scans: quick queries that fan out one task per tenant.
    "scans": ["*.scan_*"],
    # Per-tenant automations that people wait for: reminders, digests, alerts, notices.
    "default": [
        "contacts.send_task_reminders",
        "contacts.send_overdue_digests",
        "contacts.send_pending_emails",
        "pipeline.send_stale_alerts",
        "pipeline.send_renewal_notices",
        "pipeline.send_weekly_summaries",
        "mail.log_held_meetings",
    ],
    # IMAP syncs: network-bound; one may hold its mailbox up to MAIL_SYNC_LEASE.
    "mail": ["mail.sync_mailbox"],
    # Webhook dispatch and deliveries: an import's events become thousands of HTTP calls.
    "webhooks": ["api.dispatch_events", "api.deliver_webhook", "api.requeue_webhooks"],
    # Long per-tenant work: import chunks, retention, nightly snapshots and scores, purges.
    "bulk": [
        "governance.run_import",
        "governance.apply_retention",
        "reporting.take_daily_snapshot",
        "intelligence.score_customers",
        "api.purge",
    ],
}
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in KEEL_TASK_QUEUES]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    task: {"queue": queue} for queue, tasks in KEEL_TASK_QUEUES.items() for task in tasks
}

# The REST API (/api/v1/, the `api` app) and its OpenAPI schema.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "api.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.MemberWithScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Cursor",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Keel API",
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "validatorUrl": None},
    # Schema generation runs outside any tenant, where the scoped managers (rightly) refuse.
    "DEFAULT_QUERY_MANAGER": "unscoped",
    # The enums' names (ENUM_NAME_OVERRIDES) come from api.schema.register_enum_names.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=600)  # requests per token and period
API_RATE_PERIOD = env.int("API_RATE_PERIOD", default=60)  # seconds
# Webhooks: a failed delivery is retried with growing pauses (Celery retries up to a few
# minutes, then beat's scan) and given up after WEBHOOK_MAX_ATTEMPTS; an endpoint is
# disabled after WEBHOOK_DISABLE_AFTER failed attempts in a row. Targets on private
# addresses (127.0.0.1, 10.x…) are refused unless allowed (development, tests).
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=15)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=DEBUG)
CELERY_BEAT_SCHEDULE["api-webhooks"] = {"task": "api.scan_webhooks", "schedule": 60}
CELERY_BEAT_SCHEDULE["api-purge"] = {"task": "api.scan_purge", "schedule": 60 * 60}

# Governance: CSV imports (uploads live under MEDIA_ROOT until imported) and retention.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
IMPORT_CHUNK_ROWS = env.int("IMPORT_CHUNK_ROWS", default=2000)
# The tenant's expected and always-required fields, for reporting's data completeness.
KEEL_REQUIRED_FIELDS = "governance.quality.required_fields"
# Finds tenants whose retention policy is on; each erases what the policy names (idempotent).
CELERY_BEAT_SCHEDULE["governance-retention"] = {
    "task": "governance.scan_retention",
    "schedule": 6 * 60 * 60,
    "options": {"expires": 60 * 60},
}

# Mail and calendar capture (mail/; README "Mail and calendar").
# Fernet keys for mailbox passwords, newest first (mail/secrets.py; unset: derived from
# SECRET_KEY, fine for `make run`, not for production).
KEEL_MAIL_KEYS = env.list("KEEL_MAIL_KEYS", default=[])
# The workspace's forward/BCC address is <slug>+<token>@MAIL_DOMAIN (manage.py mail_gateway).
MAIL_DOMAIN = env.str("MAIL_DOMAIN", default="mail.keel.localhost")
MAIL_GATEWAY_HOST = env.str("MAIL_GATEWAY_HOST", default="127.0.0.1")
MAIL_GATEWAY_PORT = env.int("MAIL_GATEWAY_PORT", default=2525)
MAIL_ATTACHMENT_MAX_BYTES = env.int("MAIL_ATTACHMENT_MAX_BYTES", default=25 * 1024 * 1024)
MAIL_MESSAGE_MAX_BYTES = env.int("MAIL_MESSAGE_MAX_BYTES", default=60 * 1024 * 1024)
# Addresses at these domains are never a customer's (personal mail providers are matched
# to contacts by their full address only, never to an organization by domain).
MAIL_IGNORED_DOMAINS = set(env.list("MAIL_IGNORED_DOMAINS", default=[])) | {MAIL_DOMAIN}
MAIL_PERSONAL_DOMAINS = {
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
    "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "proton.me",
    "protonmail.com", "mail.ru", "yandex.ru", "wp.pl", "o2.pl", "orange.fr", "free.fr",
}  # fmt: skip
MAIL_SYNC_INTERVAL = env.int("MAIL_SYNC_INTERVAL", default=5 * 60)  # seconds between syncs
MAIL_SYNC_BATCH = env.int("MAIL_SYNC_BATCH", default=200)  # messages per fetch/transaction
MAIL_SYNC_LEASE = env.int("MAIL_SYNC_LEASE", default=15 * 60)  # longest one sync may hold a mailbox
MAIL_IMAP_TIMEOUT = env.int("MAIL_IMAP_TIMEOUT", default=30)
# A CA bundle for servers with a private certificate (tests, self-hosted Dovecot).
MAIL_CA_FILE = env.str("MAIL_CA_FILE", default="")
CELERY_BEAT_SCHEDULE["mail-sync"] = {
    "task": "mail.scan_mailboxes",
    "schedule": 60,
    "options": {"expires": 50},
}
CELERY_BEAT_SCHEDULE["mail-meetings"] = {
    "task": "mail.scan_held_meetings",
    "schedule": 60 * 60,  # a meeting becomes an activity within the hour after its start
}

# Hooks of the apps built on `crm` (which cannot import them): run, in this order, for
# every new tenant inside its creating transaction (so also for the demo workspace).
KEEL_TENANT_SETUP: list[str] = [
    "pipeline.services.create_default_pipelines",
    "pipeline.services.renewals.create_renewals_pipeline",
]
# Called with tenant_id= after a transaction that published crm.outbox commits.
KEEL_EVENT_HANDLERS: list[str] = [
    "api.webhooks.events_published",
]

# Health, metrics and logs (README "Health, metrics and logs"; crm/health.py,
# crm/metrics.py, crm/logs.py, crm/observability.py).
READINESS_TIMEOUT = env.float("READINESS_TIMEOUT", default=2.0)  # seconds per /readyz check
# /metrics: with a token, `Authorization: Bearer <token>` from anywhere; without one, only
# loopback and these addresses or networks (e.g. 10.0.0.0/8) are answered.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)  # a worker's /metrics; 0: off
# JSON lines (one object per line, with request, tenant and member ids) for a log
# collector; text for a person reading a terminal (`make run`).
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "crm.logs.ContextFilter"}},
    "formatters": {
        "json": {"()": "crm.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # One line per request; runserver writes its own in text mode.
        "keel.access": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
    },
}
