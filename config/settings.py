"""The one settings module. Everything comes from the environment (docs/operations.md lists it all).

With no environment at all this gives the embedded default: SQLite in the data folder, the
in-memory channel layer, a local-memory cache and Celery running inside the server process.
`DATABASE_URL` and `REDIS_URL` switch to the services mode.
"""

import secrets
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_float, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data")))


def _secret_key() -> str:
    """SECRET_KEY from the environment; otherwise one generated once and kept in DATA_DIR.

    The embedded mode must start with no set-up and still not run on a published key.
    """
    key = env_secret("SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Where people reach the service from outside: notifications' acknowledgement links are built on it.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    # Layers, bottom up (docs/architecture.md, "Layers").
    "coordination",
    "coordination.duty",  # label "duty": duty rosters of jurisdictions and bodies (the registry layer)
    "coordination.people",  # label "people": officers' contact methods (the registry layer)
    "sharing",
    "incidents",
    "incidents.alerts",  # label "alerts": public alerts and CAP 1.2
    "sharing.webhooks",  # label "webhooks": subscriptions and deliveries (the exchange layer)
    "coordination.workflows",  # label "workflows": playbooks, runs, acknowledgements, joint command
    "coordination.notify",  # label "notify": notifications to people, receipts, acknowledgement links
    "sharing.mutualaid",  # label "mutualaid": resource catalogue, inventories, mutual aid (exchange layer)
    "ui",  # the web UI for officers (an edge: pages, fragments, static files)
]

MIDDLEWARE = [
    "config.metrics.RequestMetricsMiddleware",  # first: what the others refuse is counted too
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",  # on every page, error pages included
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'liandong.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL)
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI every request runs in a thread of its own, so persistent connections
    # (CONN_MAX_AGE) pile up one per thread; Django's psycopg pool is the right tool there.
    # gunicorn's sync workers measured faster with persistent connections instead, so the
    # pool can be switched off (DATABASE_POOL=0) and CONN_MAX_AGE set for that deployment.
    _db["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 0, minimum=0)
    if env_bool("DATABASE_POOL", True):
        _db["CONN_MAX_AGE"] = 0
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN_SIZE", 2, minimum=0),
            "max_size": env_int("DATABASE_POOL_MAX_SIZE", 20, minimum=1),
            "timeout": env_float("DATABASE_POOL_TIMEOUT", 10.0, minimum=0.1),
        }
    _db["CONN_HEALTH_CHECKS"] = True
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded mode runs the server and the Celery worker in one process with several
    # threads writing: WAL lets readers go on while one writes, IMMEDIATE takes the write lock
    # at BEGIN so two writers queue instead of failing with "database is locked" halfway.
    if _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    raise ImproperlyConfigured(f"DATABASE_URL must be postgres:// or sqlite://, not {DATABASE_URL!r}")
_db["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME") or None}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery broker -----------------------------------------------

REDIS_URL = env_str("REDIS_URL")
SERVICES_MODE = bool(REDIS_URL)

if SERVICES_MODE:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "liandong"},
        }
    }
    CACHES = {
        "default": {
            # Redis, and this process's memory while Redis is away (config/cache.py).
            "BACKEND": "config.cache.FailoverRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "liandong",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ------------------------------------------------------------------------------------
# Read by config/celery.py (namespace CELERY_). In the embedded mode the broker is kombu's
# in-memory transport and `manage.py serve` runs a real worker and beat in its own process.

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_EMBEDDED = CELERY_BROKER_URL == "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Work is acknowledged after it ran, and given back if the worker dies, so a killed worker
# delays work instead of losing it; tasks are idempotent because of exactly that redelivery.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker holding countdown tasks (every deadline within WORKFLOW_QUEUE_AHEAD_SECONDS) has its
# prefetch raised by one for each, so it pulled as many ordinary tasks ahead of them; a deadline
# then waited behind hundreds (1,000 playbook runs: deadlines seconds late, bench/workflows.py).
# Without prefetch a worker takes a message only for a free process, and a deadline that falls
# due waits for one task at most. Redis brokers only (Celery ignores it elsewhere, with a warning).
CELERY_WORKER_DISABLE_PREFETCH = CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://"))
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 10 if CELERY_TASK_TIME_LIMIT > 20 else None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = (
    # Unacknowledged messages come back after this long if their worker vanished.
    {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 120, minimum=10)}
    if not CELERY_EMBEDDED
    else {"polling_interval": 0.05}
)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}  # each app adds its periodic tasks in config/celery.py

# --- Auth, API -----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "coordination.authentication.BearerTokenAuthentication",
        "coordination.authentication.OfficerSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["coordination.permissions.IsPrincipal"],
    "DEFAULT_THROTTLE_CLASSES": ["coordination.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "principal": env_str("API_RATE_LIMIT", "6000/min"),
        "token_login": env_str("LOGIN_RATE_LIMIT", "20/min"),
        "bad_credentials": env_str("BAD_CREDENTIALS_RATE_LIMIT", "30/min"),
    },
    "DEFAULT_PARSER_CLASSES": ["config.problems.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["config.renderers.FastJSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.DefaultPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",  # the project's conventions, docs/schema.md
    "EXCEPTION_HANDLER": "config.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 50,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Liandong (联动) API",
    "DESCRIPTION": "Cross-jurisdiction emergency coordination for city clusters.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: stations are often cut off from CDNs.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Largest request body the API reads (bytes); bigger ones get 413 before they are parsed.
MAX_BODY_BYTES = env_int("MAX_BODY_BYTES", 1_048_576, minimum=1024)
# The bulk endpoints take up to 500 items, so they get a limit of their own.
MAX_BULK_BODY_BYTES = env_int("MAX_BULK_BODY_BYTES", 8_388_608, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(MAX_BODY_BYTES, MAX_BULK_BODY_BYTES)

# Lifetime of the token an officer gets from POST /api/v1/auth/token/.
OFFICER_TOKEN_TTL_HOURS = env_int("OFFICER_TOKEN_TTL_HOURS", 12, minimum=1)

# --- Internationalisation --------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
# zh-hant: Traditional Chinese as Hong Kong and Macao write it (locale/zh_Hant, made from
# zh_Hans by scripts/zh_hant_catalogue.py). A browser asking for zh-HK, zh-MO or zh-TW gets it
# (Django's fallbacks), one asking for zh-CN or zh gets zh-hans.
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("zh-hant", _("Traditional Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "config.storage.StaticFilesStorage"  # whitenoise's, with ES module imports hashed
        if not DEBUG and env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)

# --- Security ---------------------------------------------------------------------------------
# HTTPS=1 is for deployments behind TLS (the compose stack's proxy terminates it):
# secure cookies, HSTS and the redirect. The embedded mode serves plain HTTP on loopback.

HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("TRUST_X_FORWARDED_PROTO", HTTPS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Probes and Prometheus reach each process directly inside the deployment, not through the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"


def _tile_origin(url: str) -> list[str]:
    """The origin of the map's tile server (MAP_TILE_URL, read by ui/conf.py), whose images the
    pages show; "{s}" in a host (Leaflet's subdomains) stands for any subdomain."""
    if not url:
        return []
    parsed = urlparse(url.replace("{s}", "subdomain"))
    host = (parsed.hostname or "").replace("subdomain", "*")
    return [f"{parsed.scheme}://{host}" + (f":{parsed.port}" if parsed.port else "")] if host else []


# The Content-Security-Policy of every HTML page (config.middleware): this site's scripts,
# styles and connections only (the stream's websocket is 'self' too), nothing inline, no
# plugins, no <base>, forms posting here only, no framing. Images: ours, data: URIs (the blank
# favicon, Swagger UI's icons) and the map's tiles. The same name and shape as Django 6.0's.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", *_tile_origin(env_str("MAP_TILE_URL", ""))],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS", [])

# --- Metrics (config/metrics.py) ------------------------------------------------------------------

# Bearer token of GET /metrics (Prometheus); unset, the endpoint is a 404. Long and random: it
# is compared in constant time but not rate limited.
METRICS_TOKEN = env_secret("METRICS_TOKEN")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters")

# --- Logging ---------------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": env_str("CELERY_LOG_LEVEL", "WARNING").upper()},
    },
}

# --- Domain limits and tuning ----------------------------------------------------------------

# Threads of the in-process worker in the embedded mode.
EMBEDDED_WORKER_CONCURRENCY = env_int("EMBEDDED_WORKER_CONCURRENCY", 4, minimum=1)
# How long a process trusts what it cached about a token / the registry (seconds).
TOKEN_CACHE_SECONDS = env_float("TOKEN_CACHE_SECONDS", 5.0, minimum=0)
REGISTRY_CACHE_SECONDS = env_float("REGISTRY_CACHE_SECONDS", 60.0, minimum=0)
BOUNDARY_INDEX_CHECK_SECONDS = env_float("BOUNDARY_INDEX_CHECK_SECONDS", 30.0, minimum=0)
# Behind a reverse proxy that sets X-Forwarded-For, record the client's address from it.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)
# Largest polygon (all rings together) accepted from a caller.
MAX_POLYGON_VERTICES = env_int("MAX_POLYGON_VERTICES", 2000, minimum=4)
# Largest CAP document POST /api/v1/cap/ reads (413 beyond); IPAWS alerts carry their audio
# inline. A body above MAX_BULK_BODY_BYTES is refused before this limit is looked at.
CAP_MAX_BYTES = env_int("CAP_MAX_BYTES", 2_097_152, minimum=1024)
# CAP senders (exact, or shell patterns such as *@cma.gov.cn) whose alerts are imported only
# with a verified XML signature; unsigned or failed ones are refused.
CAP_REQUIRE_SIGNED_SENDERS = env_list("CAP_REQUIRE_SIGNED_SENDERS", [])
# How often a process checks whether sharing agreements changed (seconds).
SHARING_CONTEXT_CHECK_SECONDS = env_float("SHARING_CONTEXT_CHECK_SECONDS", 1.0, minimum=0)
# How far back the event log is kept (days); older events are pruned by beat.
EVENT_RETENTION_DAYS = env_int("EVENT_RETENTION_DAYS", 90, minimum=1)
# How far outside its cluster's boundaries (km) a jurisdiction may place an incident.
INCIDENT_LOCATION_MARGIN_KM = env_float("INCIDENT_LOCATION_MARGIN_KM", 50.0, minimum=0)
# Incidents' enums share their field names (level, status, type) with others' in the OpenAPI schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update({
    "SeverityLevelEnum": "sharing.models.Level",
    "JurisdictionLevelEnum": "coordination.models.JurisdictionLevel",
    "IncidentStatusEnum": "incidents.lifecycle.Status",
    "IncidentTypeEnum": "incidents.catalogue.TYPE_CHOICES",
})

# --- The websocket stream and webhooks (sharing.stream, sharing.webhooks) ----------------------

# Browser origins allowed to open the stream besides the service's own (same-origin is always
# allowed; a client that sends no Origin, a city system, is not a browser and is not checked).
WS_ALLOWED_ORIGINS = env_list("WS_ALLOWED_ORIGINS", [])
# How far back a stream replay (`since`) may reach; older cursors are told to page through
# GET /api/v1/events/ first, so a reconnecting client cannot make a server replay the whole log.
STREAM_REPLAY_MAX_EVENTS = env_int("STREAM_REPLAY_MAX_EVENTS", 10_000, minimum=1)
STREAM_REPLAY_MAX_AGE_SECONDS = env_int("STREAM_REPLAY_MAX_AGE_SECONDS", 86_400, minimum=1)
# Messages queued for one slow client before it is disconnected (it resumes with `since`).
STREAM_OUTBOX_SIZE = env_int("STREAM_OUTBOX_SIZE", 1000, minimum=1)
# Heartbeat message to every client (seconds); tokens are re-checked on STREAM_AUTH_CHECK_SECONDS.
STREAM_HEARTBEAT_SECONDS = env_float("STREAM_HEARTBEAT_SECONDS", 25.0, minimum=0.1)
STREAM_AUTH_CHECK_SECONDS = env_float("STREAM_AUTH_CHECK_SECONDS", 5.0, minimum=0.1)
# How often a server process compares what it relayed with the event log (the safety net
# behind the gap check on every message).
STREAM_HUB_CHECK_SECONDS = env_float("STREAM_HUB_CHECK_SECONDS", 5.0, minimum=0.1)
# Redis pub/sub ignores the database number, so the channel carries it: two deployments (or
# test runs) on one Redis with different databases never hear each other.
STREAM_REDIS_CHANNEL = env_str(
    "STREAM_REDIS_CHANNEL", "liandong:stream:" + (urlparse(REDIS_URL).path.lstrip("/") or "0")
)
# Webhook URLs that resolve to private or loopback addresses are refused unless this is on
# (link-local, multicast and reserved addresses are refused always).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
# Contact methods (coordination.people.contract): group robots and web push endpoints may also be
# http(s)://127.0.0.1:PORT/…, local servers standing in for the providers. Tests and drills only.
NOTIFY_ALLOW_LOOPBACK_ENDPOINTS = env_bool("NOTIFY_ALLOW_LOOPBACK_ENDPOINTS", False)
# Key the subscriptions' signing secrets are derived from (see sharing.webhooks.signing);
# changing it changes every secret. Defaults to SECRET_KEY.
WEBHOOK_SIGNING_KEY = env_secret("WEBHOOK_SIGNING_KEY") or SECRET_KEY
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 5.0, minimum=0.1)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 10.0, minimum=0.01)
WEBHOOK_RETRY_MAX_SECONDS = env_float("WEBHOOK_RETRY_MAX_SECONDS", 3600.0, minimum=0.01)
# A subscription is disabled when its receiver has failed this many attempts in a row, the
# first of them at least this long ago (a receiver restarting for a minute is not disabled).
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 20, minimum=1)
WEBHOOK_DISABLE_AFTER_SECONDS = env_float("WEBHOOK_DISABLE_AFTER_SECONDS", 21_600.0, minimum=0)
WEBHOOK_MAX_SUBSCRIPTIONS_PER_CLIENT = env_int("WEBHOOK_MAX_SUBSCRIPTIONS_PER_CLIENT", 20, minimum=1)
# After a secret is rotated, deliveries are signed with the old one too for this long.
WEBHOOK_SECRET_GRACE_SECONDS = env_int("WEBHOOK_SECRET_GRACE_SECONDS", 86_400, minimum=0)
WEBHOOK_DELIVERY_RETENTION_DAYS = env_int("WEBHOOK_DELIVERY_RETENTION_DAYS", 30, minimum=1)

# --- Playbooks and their runs (coordination.workflows) ----------------------------------------

# Multiplies every duration in the playbooks (deadlines, waits, escalation windows), so a drill
# or a test runs a two-hour plan in a minute (docs/playbooks.md, "Definitions").
DEADLINE_SCALE = env_float("DEADLINE_SCALE", 1.0, minimum=0.0001)
# How often beat sweeps for due steps and deadlines: a task lost with the broker, or a worker
# killed mid-step, is late by about this much and no more. docs/playbooks.md promises at most 10 seconds.
WORKFLOW_SWEEP_SECONDS = env_float("WORKFLOW_SWEEP_SECONDS", 5.0, minimum=0.1)
if WORKFLOW_SWEEP_SECONDS > 10:
    raise ImproperlyConfigured(
        f"WORKFLOW_SWEEP_SECONDS={WORKFLOW_SWEEP_SECONDS} is above 10 (docs/playbooks.md, Reliability)"
    )
# The sweep leaves a due item this long to its own countdown task before doing it itself.
WORKFLOW_SWEEP_GRACE_SECONDS = env_float("WORKFLOW_SWEEP_GRACE_SECONDS", 1.0, minimum=0)
# Redis redelivers an ETA task its worker has held longer than the visibility timeout, so a
# deadline further ahead than this is queued by the sweep once it comes this near.
WORKFLOW_QUEUE_AHEAD_SECONDS = env_float(
    "WORKFLOW_QUEUE_AHEAD_SECONDS", env_int("CELERY_VISIBILITY_TIMEOUT", 120, minimum=10) / 2, minimum=1
)
# The auditor: how often it looks, and how late a due step or deadline must be to be reported.
WORKFLOW_AUDIT_SECONDS = env_float("WORKFLOW_AUDIT_SECONDS", 60.0, minimum=0.5)
WORKFLOW_STALL_SECONDS = env_float("WORKFLOW_STALL_SECONDS", 60.0, minimum=0.5)
# A step that raises is retried with exponential backoff up to this many attempts, then failed.
WORKFLOW_STEP_MAX_ATTEMPTS = env_int("WORKFLOW_STEP_MAX_ATTEMPTS", 5, minimum=1)
WORKFLOW_RETRY_BASE_SECONDS = env_float("WORKFLOW_RETRY_BASE_SECONDS", 2.0, minimum=0.01)
# Task statuses share their name ("status") with the incident lifecycle's in the OpenAPI schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["TaskStatusEnum"] = (
    "coordination.workflows.models.TaskStatus"
)

# --- Notifications (coordination.notify; docs/notifications.md, "Sending, retries and failover") ---

# A worker's claim on the rows it is sending: longer than any provider's timeout, so a live
# worker is never taken for a dead one (services.py, "Never twice").
NOTIFY_LEASE_SECONDS = env_float("NOTIFY_LEASE_SECONDS", 60.0, minimum=1.0)
# A transient error (a timeout, a refused connection, SMTP 4xx, HTTP 5xx) is tried again after an
# exponential backoff with jitter, up to NOTIFY_MAX_ATTEMPTS attempts, then failed (the person's
# next channel goes at once). 8 attempts span at least 5 minutes (2.5 + 5 + … + 150 s at the
# shortest jitter): a mail server down for a minute or a restart loses nothing (5 spanned only
# 37.5 s, shorter than the outage the fault suite makes: tests/faults/test_notification_faults.py).
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 8, minimum=1)
NOTIFY_RETRY_BASE_SECONDS = env_float("NOTIFY_RETRY_BASE_SECONDS", 5.0, minimum=0.01)
NOTIFY_RETRY_MAX_SECONDS = env_float("NOTIFY_RETRY_MAX_SECONDS", 300.0, minimum=0.01)
# How many messages one worker process hands to their providers at once, a thread each: a send
# is mostly waiting for the provider's answer (SMTP's 250, the gateway's HTTP response), so a
# worker that waited for each in turn sent a thousand messages in ten seconds
# (coordination/notify/services.py, "Sending"; bench.notify). Also how many rows are marked
# handed over together: a worker killed mid-send leaves at most this many outcomes unknown.
NOTIFY_SEND_THREADS = env_int("NOTIFY_SEND_THREADS", 8, minimum=1)

# --- Notification providers (coordination.notify.providers; docs/providers.md) ----------------

# E-mail: Django's SMTP backend. The Message-ID of each message is derived from its
# idempotency key under EMAIL_MESSAGE_ID_DOMAIN (default: DEFAULT_FROM_EMAIL's domain).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10.0, minimum=0.1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "liandong@localhost")
EMAIL_MESSAGE_ID_DOMAIN = env_str("EMAIL_MESSAGE_ID_DOMAIN")
# SMS: "gateway" (our signed HTTPS contract), "tencent" (Tencent Cloud SMS) or "" (none: SMS
# notifications fail over to the next channel at once).
SMS_PROVIDER = env_str("SMS_PROVIDER").strip().lower()
if SMS_PROVIDER not in ("", "gateway", "tencent"):
    raise ImproperlyConfigured(f"SMS_PROVIDER={SMS_PROVIDER!r} is not one of gateway, tencent (or empty)")
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL")
SMS_GATEWAY_KEY_ID = env_str("SMS_GATEWAY_KEY_ID")
SMS_GATEWAY_SECRET = env_secret("SMS_GATEWAY_SECRET")
SMS_GATEWAY_TIMEOUT_SECONDS = env_float("SMS_GATEWAY_TIMEOUT_SECONDS", 10.0, minimum=0.1)
# A gateway callback (delivery receipt, inbound reply) older or newer than this is refused (replay).
SMS_GATEWAY_CALLBACK_WINDOW_SECONDS = env_int("SMS_GATEWAY_CALLBACK_WINDOW_SECONDS", 300, minimum=1)
TENCENT_SMS_SECRET_ID = env_str("TENCENT_SMS_SECRET_ID")
TENCENT_SMS_SECRET_KEY = env_secret("TENCENT_SMS_SECRET_KEY")
TENCENT_SMS_REGION = env_str("TENCENT_SMS_REGION", "ap-guangzhou")
TENCENT_SMS_SDK_APP_ID = env_str("TENCENT_SMS_SDK_APP_ID")
TENCENT_SMS_SIGN_NAME = env_str("TENCENT_SMS_SIGN_NAME")
TENCENT_SMS_TEMPLATE_ID = env_str("TENCENT_SMS_TEMPLATE_ID")
TENCENT_SMS_ENDPOINT = env_str("TENCENT_SMS_ENDPOINT", "sms.tencentcloudapi.com")
TENCENT_SMS_PROTOCOL = env_str("TENCENT_SMS_PROTOCOL", "https")
TENCENT_SMS_TIMEOUT_SECONDS = env_int("TENCENT_SMS_TIMEOUT_SECONDS", 10, minimum=1)
# Tencent does not sign its delivery receipts: the callback URL set in its console carries this
# secret (/api/v1/notify/callbacks/tencent-sms/<token>/receipts/). Empty: the endpoint is off.
TENCENT_SMS_CALLBACK_TOKEN = env_secret("TENCENT_SMS_CALLBACK_TOKEN")
# Group robots: a contact's webhook URL must start with one of its service's prefixes, so an
# address typed into a profile cannot make the worker call anything else.
ROBOT_TIMEOUT_SECONDS = env_float("ROBOT_TIMEOUT_SECONDS", 10.0, minimum=0.1)
WECOM_ROBOT_URL_PREFIXES = env_list("WECOM_ROBOT_URL_PREFIXES", ["https://qyapi.weixin.qq.com/cgi-bin/webhook/send?"])
DINGTALK_ROBOT_URL_PREFIXES = env_list("DINGTALK_ROBOT_URL_PREFIXES", ["https://oapi.dingtalk.com/robot/send?"])
FEISHU_ROBOT_URL_PREFIXES = env_list(
    "FEISHU_ROBOT_URL_PREFIXES",
    ["https://open.feishu.cn/open-apis/bot/v2/hook/", "https://open.larksuite.com/open-apis/bot/v2/hook/"],
)
# Browser web push: the VAPID key pair's private key (PEM, or base64url of the raw 32 bytes or
# DER) and the contact the push services may write to.
WEBPUSH_VAPID_PRIVATE_KEY = env_secret("WEBPUSH_VAPID_PRIVATE_KEY")
WEBPUSH_VAPID_SUBJECT = env_str("WEBPUSH_VAPID_SUBJECT", "mailto:liandong@localhost")
WEBPUSH_TTL_SECONDS = env_int("WEBPUSH_TTL_SECONDS", 3600, minimum=0)
WEBPUSH_TIMEOUT_SECONDS = env_float("WEBPUSH_TIMEOUT_SECONDS", 10.0, minimum=0.1)
