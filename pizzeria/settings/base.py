"""Settings shared by every environment; read from the environment via django-environ.

Fail closed: nothing here turns DEBUG on or supplies a key. Used on its own (it is nobody's
default), Django refuses to start because SECRET_KEY is empty. `pizzeria.settings.production` is
the default of manage.py, wsgi, asgi and celery; `make run` picks `pizzeria.settings.dev` and
`make test` `pizzeria.settings.test` themselves.
"""

import os
import urllib.parse
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from pizzeria.ops.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# .env only fills in variables; DJANGO_ENV_FILE points elsewhere (tests hide a developer's .env).
environ.Env.read_env(os.environ.get("DJANGO_ENV_FILE", str(BASE_DIR / ".env")), overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",  # failed-login lockout (token endpoint and admin login), counted in the shared cache
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / ReDoc files, served locally (no CDN)
    "pizzeria.eventbus",
    "pizzeria.ops",  # ops screen, failure groups, shared counters, structured logs
    "orders",
    "kitchen",
    "notifications",
    "analytics",
    "pizzeria.simulation",  # `manage.py simulate`
    "pizzeria.integrations",  # webhook deliveries: one handler per subscription (a registry family)
]

MIDDLEWARE = [
    # First: an oversized body is refused (413) before anything reads it.
    "pizzeria.security.middleware.RequestBodyLimitMiddleware",
    # NUL in a header, query parameter or form field → 400 (PostgreSQL would raise: a 500).
    "pizzeria.security.middleware.HostileInputMiddleware",
    # A request id for the request's log records and the deliveries it publishes.
    "pizzeria.ops.logs.RequestIdMiddleware",
    # Request duration by view into the shared counters (/metrics).
    "pizzeria.ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # admin/static files under gunicorn too
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it turns a login that axes refused into a 429 (see pizzeria.security.lockout).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pizzeria.urls"
WSGI_APPLICATION = "pizzeria.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# PostgreSQL is the only database (production, CI and a newcomer's machine run the same SQL).
# `make run` / `make test` start an embedded one when DATABASE_URL is unset (pizzeria.devservices).
DATABASE_HINT = (
    "PostgreSQL is required: set DATABASE_URL=postgres://user@host:5432/name, or unset it and use "
    "`make run` / `make test`, which start an embedded PostgreSQL."
)
# Unset here, each settings module refuses in its own words (production, dev, test).
DATABASES = {"default": env.db("DATABASE_URL")} if env("DATABASE_URL", default="") else {}
if DATABASES:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"DATABASE_URL names {DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, not PostgreSQL. {DATABASE_HINT}"
        )
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out credentials before checking them
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Chart.js for the dashboard, from npm (analytics/assets/package-lock.json, `npm ci` by make / CI).
STATICFILES_DIRS = [("analytics/vendor/chartjs", BASE_DIR / "analytics/assets/node_modules/chart.js/dist")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
LOGIN_URL = "/admin/login/"

# --- REST framework -------------------------------------------------------------------------
# Throttle rates per scope: "<scope>_ip" per client address, "<scope>_user" per account (for the
# token endpoint the username tried); in the shared cache, so they hold across workers and machines.
THROTTLE_RATES = {
    "register_ip": env("THROTTLE_REGISTER_IP", default="10/hour"),
    "token_ip": env("THROTTLE_TOKEN_IP", default="20/min"),
    "token_user": env("THROTTLE_TOKEN_USER", default="10/min"),
    "order_place_ip": env("THROTTLE_ORDER_PLACE_IP", default="60/min"),
    "order_place_user": env("ORDER_PLACE_THROTTLE", default="30/min"),
    "order_cancel_ip": env("THROTTLE_ORDER_CANCEL_IP", default="60/min"),
    "order_cancel_user": env("THROTTLE_ORDER_CANCEL_USER", default="10/min"),
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pizzeria.security.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The JSON parser answers 400 for nesting deeper than REQUEST_MAX_JSON_DEPTH (DRF's own lets
    # a RecursionError through as a 500).
    "DEFAULT_PARSER_CLASSES": [
        "pizzeria.security.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    # Client address for the per-IP throttles: the number of proxies in front that append to
    # X-Forwarded-For (0: REMOTE_ADDR, which a client cannot forge).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "orders.api.exceptions.exception_handler",
}
# API tokens expire this long after issue; logging out (POST /api/auth/logout/) deletes one at once.
API_TOKEN_TTL_HOURS = env.float("API_TOKEN_TTL_HOURS", default=24 * 7)

# --- Request limits ---------------------------------------------------------------------------
# Bodies above this many bytes get 413 before parsing (50 order lines are a few KB; admin forms less).
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BODY_BYTES
REQUEST_MAX_JSON_DEPTH = env.int("REQUEST_MAX_JSON_DEPTH", default=20)

SPECTACULAR_SETTINGS = {
    "TITLE": "Mario's Pizzeria API",
    "DESCRIPTION": "Place and track pizza orders.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from our static files, so the docs work on a machine without internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No "online validator" badge: it would send the schema URL to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None, "displayOperationId": True},
}

# --- Broker and Celery ----------------------------------------------------------------------
# `make run` / `make test` start an embedded Valkey and export REDIS_URL when none is given. No
# default: a process that falls back to localhost:6379 may publish into somebody else's Redis.
REDIS_URL = env("REDIS_URL", default="")


# --- Cache: throttles, login lockout and stream counts shared by every process -----------------
def redis_sibling_url(url: str) -> str:
    """The same Redis server, the next database number (db N → N + 1; db 15, Redis's last, → 14).

    The cache must never share the broker's database: `cache.clear()` is FLUSHDB, which would
    empty every queue (and allkeys eviction on the cache would pick messages too).
    """
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    # unix:///path/redis.sock?db=N names the database in the query, redis://host:port/N in the path.
    in_query = parts.scheme == "unix" or "db" in query
    number = int(query.get("db", 0) if in_query else parts.path.strip("/") or 0)
    sibling = str(number + 1 if number < 15 else number - 1)
    if in_query:
        url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode({**query, "db": sibling})))
        return url.replace("unix:/", "unix:///", 1) if parts.scheme == "unix" and not parts.netloc else url
    return urllib.parse.urlunsplit(parts._replace(path=f"/{sibling}"))


# Default: REDIS_URL's server, one database up. production.py refuses a CACHE_URL equal to the broker's.
CACHE_URL = env("CACHE_URL", default=redis_sibling_url(REDIS_URL))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="pizzeria"),
        # A slow or absent Redis must not hang a request: short timeouts, and after one the
        # process's breaker skips that Redis server for REDIS_BREAKER_SECONDS (pizzeria.redisbreaker).
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}
REDIS_BREAKER_SECONDS = env.float("REDIS_BREAKER_SECONDS", default=5.0)

# --- Failed-login lockout (django-axes) --------------------------------------------------------
# After AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is
# refused with 429 for AXES_COOLOFF_TIME hours (any password, even the right one).
AXES_HANDLER = "pizzeria.security.lockout.ResilientCacheHandler"  # axes' cache handler, fails open
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "pizzeria.security.lockout.lockout_response"
AXES_IPWARE_PROXY_COUNT = env.int("NUM_PROXIES", default=0) or None
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False  # its admin pages list database attempts; ours are in the cache

# The event bus. Durations are settings so tests can shrink them.
EVENTBUS_LEASE_SECONDS = env.float("EVENTBUS_LEASE_SECONDS", default=60.0)  # > hard time limit
EVENTBUS_SWEEP_INTERVAL = env.float("EVENTBUS_SWEEP_INTERVAL", default=5.0)
EVENTBUS_SWEEP_BATCH = env.int("EVENTBUS_SWEEP_BATCH", default=500)
# A pending delivery whose message was published this long ago and still not claimed is re-sent
# (the message may have been lost with a broker restart). Duplicates are harmless: claims are
# conditional.
EVENTBUS_REDISPATCH_AFTER = env.float("EVENTBUS_REDISPATCH_AFTER", default=300.0)
# Retries due within this many seconds ride a countdown message; longer waits stay in the row.
EVENTBUS_SHORT_RETRY_MAX = env.float("EVENTBUS_SHORT_RETRY_MAX", default=5.0)
EVENTBUS_BACKOFF_BASE = env.float("EVENTBUS_BACKOFF_BASE", default=2.0)
EVENTBUS_BACKOFF_CAP = env.float("EVENTBUS_BACKOFF_CAP", default=600.0)
EVENTBUS_MAX_ATTEMPTS = env.int("EVENTBUS_MAX_ATTEMPTS", default=8)
EVENTBUS_RETENTION_DAYS = env.int("EVENTBUS_RETENTION_DAYS", default=14)
# Retention deletes in batches, each its own transaction, and stops after the budget (well under
# the task's soft time limit); the next hourly run continues.
EVENTBUS_PURGE_BATCH = env.int("EVENTBUS_PURGE_BATCH", default=2000)
EVENTBUS_PURGE_TIME_BUDGET = env.float("EVENTBUS_PURGE_TIME_BUDGET", default=10.0)
# A delivery whose database connection broke is retried as a new message after
# min(cap, base * 2**n) seconds (jittered) until the database answers again.
EVENTBUS_DB_RETRY_BASE = env.float("EVENTBUS_DB_RETRY_BASE", default=1.0)
EVENTBUS_DB_RETRY_CAP = env.float("EVENTBUS_DB_RETRY_CAP", default=10.0)

# The broker: Redis by default (`make run` needs nothing else), RabbitMQ in production if wanted
# (CELERY_BROKER_URL=amqp://user:pass@host:5672/vhost). Redis keeps the cache and the kitchen
# display's pub/sub either way. pizzeria/celery.py declares quorum queues on RabbitMQ.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
BROKER_IS_AMQP = CELERY_BROKER_URL.split("://", 1)[0] in ("amqp", "amqps", "pyamqp")
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker never gives up reconnecting (Celery's default: 100 tries, then exit); supervisord restarts it anyway.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Typed once for both branches: the Redis options mix float timeouts with ints and bools.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]
if BROKER_IS_AMQP:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # The broker confirms each publish: an on-commit publish that returns has reached a queue.
        "confirm_publish": True,
        # One try on first use of a channel, as on Redis: the sweeper re-sends what failed.
        "max_retries": 0,
    }
    # Countdown retries on quorum queues go through RabbitMQ's delay exchanges (Celery's native
    # delayed delivery) instead of waiting unacknowledged in a worker's memory.
    CELERY_BROKER_NATIVE_DELAYED_DELIVERY_QUEUE_TYPE = "quorum"
    CELERY_WORKER_DETECT_QUORUM_QUEUES = True
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Rows are the truth, Redis the doorbell: kombu's ack emulation (an "unacked" hash per message,
        # two blocking round trips in a worker's main process) restores a dead worker's messages
        # after the visibility timeout, later than the sweeper (bench/README.md; test_doorbell.py).
        "ack_emulation": env.bool("CELERY_REDIS_ACK_EMULATION", default=False),
        # With ack emulation on: above the longest hard time limit plus the longest countdown.
        "visibility_timeout": 900,
        "socket_connect_timeout": 1.0,
        # A frozen Redis (SIGSTOP, a fork, a half-open link) accepts connections and never answers.
        # Web processes set 1 s (pizzeria/wsgi.py, asgi.py): a request's on-commit publish waits
        # that long once, then the process's Redis breaker skips it (pizzeria.redisbreaker).
        "socket_timeout": env.float("CELERY_REDIS_SOCKET_TIMEOUT", default=5.0),
        # kombu retries connecting on first use of a channel (3 tries, ~2 s) unless told otherwise:
        # one try, then the publisher gives up and leaves the delivery to the sweeper.
        "max_retries": 0,
    }
# The web request publishes on commit: never loop on a dead broker there, the sweeper re-sends.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SOFT_TIME_LIMIT = 20
CELERY_TASK_TIME_LIMIT: float = 30  # the test settings set a fraction of a second over the soft limit
# Task events cost ~3 broker publishes per task; off. Flower turns them on when it connects
# (docs/operations.md).
CELERY_WORKER_SEND_TASK_EVENTS = env.bool("CELERY_WORKER_SEND_TASK_EVENTS", default=False)
# "task-sent": one more PUBLISH per message published (it doubled a publish's cost); Flower needs none.
CELERY_TASK_SEND_SENT_EVENT = env.bool("CELERY_TASK_SEND_SENT_EVENT", default=False)
CELERY_TASK_DEFAULT_QUEUE = "events"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE
# Keep the Postgres connection across tasks (~5 ms each here); read by celery.fixups.django.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# A worker's `SELECT 1` health check runs only after this much idleness (pizzeria/celery.py); 0 = always.
DB_HEALTH_CHECK_AFTER_IDLE_SECONDS = env.float("DB_HEALTH_CHECK_AFTER_IDLE_SECONDS", default=1.0)


def beat_schedule(sweep_interval: float) -> dict:
    return {
        "sweep-deliveries": {
            "task": "eventbus.sweep_deliveries",
            "schedule": sweep_interval,
            # A sweep nobody ran in time is replaced by the next one, not queued up behind it.
            "options": {"queue": "events", "expires": max(sweep_interval * 4, 2.0)},
        },
        "purge-delivered": {
            "task": "eventbus.purge_delivered",
            "schedule": 3600.0,
            "options": {"queue": "events"},
        },
        "analytics-rollup": {
            "task": "analytics.rollup_recent",
            "schedule": 300.0,
            "options": {"queue": "analytics"},
        },
    }


CELERY_BEAT_SCHEDULE = beat_schedule(EVENTBUS_SWEEP_INTERVAL)

# --- Providers (notifications) --------------------------------------------------------------
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="https://api.twilio.com")
SENDGRID_API_KEY = env("SENDGRID_API_KEY", default="")
SENDGRID_API_HOST = env("SENDGRID_API_HOST", default="https://api.sendgrid.com")
NOTIFY_FROM_EMAIL = env("NOTIFY_FROM_EMAIL", default="orders@mariospizzeria.example")
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", default="")
MANAGER_EMAIL = env("MANAGER_EMAIL", default="manager@mariospizzeria.example")
NOTIFY_HTTP_TIMEOUT = env.float("NOTIFY_HTTP_TIMEOUT", default=8.0)  # < the 20 s soft time limit
# A notification row left "sending" longer than this belongs to an attempt that died after calling
# the provider: the next attempt sends again (notifications/journal.py). Unset: 2 × NOTIFY_HTTP_TIMEOUT + 5.
NOTIFY_SENDING_STALE_SECONDS = env.float("NOTIFY_SENDING_STALE_SECONDS", default=None)
# After an unknown outcome (a send that timed out or lost its connection), the next attempt waits at
# least this long, then asks the provider whether it holds the message before sending again.
NOTIFY_RECONCILE_AFTER = env.float("NOTIFY_RECONCILE_AFTER", default=10.0)
# The shop's country: numbers without "+" are read there, and SMS go only to numbers in
# SMS_ALLOWED_REGIONS (ISO 3166 codes; SMS pumping pays per message to far-away carriers).
PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", default="US")
SMS_ALLOWED_REGIONS = env.list("SMS_ALLOWED_REGIONS", default=[PHONE_DEFAULT_REGION])
# At most this many SMS to one number per rolling hour, whoever's orders they belong to.
SMS_PER_RECIPIENT_PER_HOUR = env.int("SMS_PER_RECIPIENT_PER_HOUR", default=10)

# --- Integrations (webhooks out, CloudEvents in) ---------------------------------------------
# Targets on loopback/private/link-local addresses are refused unless this is on; even then only
# WEBHOOKS_PRIVATE_TARGET_NETWORKS (loopback by default) open, never cloud metadata or multicast.
# Off by default (and in production); on in development settings (make run) and the tests.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOKS_PRIVATE_TARGET_NETWORKS = env.list(
    "WEBHOOKS_PRIVATE_TARGET_NETWORKS", default=["127.0.0.0/8", "::1/128"]
)
WEBHOOKS_HTTPS_ONLY = env.bool("WEBHOOKS_HTTPS_ONLY", default=True)
# A total deadline per request (connect + send + answer), well under the handler's soft time limit.
WEBHOOKS_TIMEOUT = env.float("WEBHOOKS_TIMEOUT", default=5.0)
WEBHOOKS_RESPONSE_BODY_LIMIT = env.int("WEBHOOKS_RESPONSE_BODY_LIMIT", default=1024)  # bytes read and logged
WEBHOOKS_CIRCUIT_FAILURE_THRESHOLD = env.int("WEBHOOKS_CIRCUIT_FAILURE_THRESHOLD", default=5)
WEBHOOKS_CIRCUIT_COOLDOWN = env.float("WEBHOOKS_CIRCUIT_COOLDOWN", default=30.0)  # doubles per failed probe
WEBHOOKS_CIRCUIT_COOLDOWN_MAX = env.float("WEBHOOKS_CIRCUIT_COOLDOWN_MAX", default=600.0)
WEBHOOKS_SECRET_OVERLAP_HOURS = env.float("WEBHOOKS_SECRET_OVERLAP_HOURS", default=24.0)
# Keys that encrypt the stored signing secrets (first encrypts, all decrypt); default SECRET_KEY.
WEBHOOKS_SECRET_KEYS = env.list("WEBHOOKS_SECRET_KEYS", default=[])
# The Standard Webhooks secret (whsec_…) partners sign inbound CloudEvents with; empty = /cloudevents/
# answers 503. Development settings use this fixed, public dev secret so `make run` can be tried
# with curl; `check --deploy` refuses it.
DEV_CLOUDEVENTS_INBOUND_SECRET = "whsec_ZGV2LWluYm91bmQtc2VjcmV0LW5vdC1mb3ItcHJvZHVjdGlvbg=="  # noqa: S105  (public, dev-only)
CLOUDEVENTS_INBOUND_SECRET = env("CLOUDEVENTS_INBOUND_SECRET", default="")
CLOUDEVENTS_INBOUND_MAX_BYTES = env.int("CLOUDEVENTS_INBOUND_MAX_BYTES", default=65536)

# --- Kitchen ----------------------------------------------------------------------------------
# Estimates (orders.estimates): prep = ORDER_PREP_MINUTES + ORDER_PREP_MINUTES_PER_PIZZA per pizza
# after the first; the kitchen adds KITCHEN_LOAD_MINUTES_PER_TICKET per ticket already cooking.
ORDER_PREP_MINUTES = env.int("ORDER_PREP_MINUTES", default=12)
ORDER_PREP_MINUTES_PER_PIZZA = env.int("ORDER_PREP_MINUTES_PER_PIZZA", default=2)
ORDER_DELIVERY_MINUTES = env.int("ORDER_DELIVERY_MINUTES", default=20)
KITCHEN_CAPACITY = env.int("KITCHEN_CAPACITY", default=3)
KITCHEN_LOAD_MINUTES_PER_TICKET = env.int("KITCHEN_LOAD_MINUTES_PER_TICKET", default=1)
# Server-Sent Events on the kitchen display: the stream ends after KITCHEN_SSE_MAX_SECONDS and the
# browser reconnects (a fresh hello, a fresh read of the board).
KITCHEN_SSE_MAX_SECONDS = env.float("KITCHEN_SSE_MAX_SECONDS", default=300)
KITCHEN_SSE_HEARTBEAT_SECONDS = env.float("KITCHEN_SSE_HEARTBEAT_SECONDS", default=15)
# Open display streams per user, so one account cannot take the process's stream cap.
KITCHEN_SSE_MAX_STREAMS_PER_USER = env.int("KITCHEN_SSE_MAX_STREAMS_PER_USER", default=4)
# The customers' order tracker (/track/…/events/): shorter than the kitchen's, as phones come and go;
# a finished order's stream answers 204 and the browser stops asking.
TRACKER_SSE_MAX_SECONDS = env.float("TRACKER_SSE_MAX_SECONDS", default=120)
TRACKER_SSE_HEARTBEAT_SECONDS = env.float("TRACKER_SSE_HEARTBEAT_SECONDS", default=15)
# Live streams run as async views on the web process's event loop (pizzeria.asgi,
# docs/live-pages.md): no thread per viewer, one Redis subscription per channel per process.
# Past either cap a new stream is refused with Retry-After (the pages reopen it after a while):
# 503 past LIVE_STREAMS_PER_PROCESS streams in one web process (all kinds), 429 past
# LIVE_PUBLIC_STREAMS_PER_ADDRESS open tracker streams from one client address in one process
# (REMOTE_ADDR, or X-Forwarded-For behind NUM_PROXIES proxies, as the API's throttles count).
LIVE_STREAMS_PER_PROCESS = env.int("LIVE_STREAMS_PER_PROCESS", default=5000)
LIVE_PUBLIC_STREAMS_PER_ADDRESS = env.int("LIVE_PUBLIC_STREAMS_PER_ADDRESS", default=32)
# ... and 429 past this many tracker streams opened per minute from one address (after a first
# burst of LIVE_PUBLIC_STREAMS_PER_ADDRESS): a phone reconnects every TRACKER_SSE_MAX_SECONDS.
LIVE_PUBLIC_STREAM_OPENS_PER_MINUTE = env.int("LIVE_PUBLIC_STREAM_OPENS_PER_MINUTE", default=60)
LIVE_RETRY_AFTER_SECONDS = env.int("LIVE_RETRY_AFTER_SECONDS", default=10)
# Notes waiting for one viewer; a viewer that falls this far behind has stopped reading and is dropped.
LIVE_VIEWER_BUFFER = env.int("LIVE_VIEWER_BUFFER", default=16)
# Threads per web process for everything that is not a stream (the site, the API, the admin):
# what gunicorn's gthread worker had as --threads; each keeps its database connection.
WEB_THREADS = env.int("WEB_THREADS", default=32)

# --- Ops surface ------------------------------------------------------------------------------
# /metrics answers a scraper with "Authorization: Bearer <METRICS_TOKEN>", or a signed-in user
# holding eventbus.view_delivery; nobody else. Empty: only such users.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# The ops screen (/admin/ops/) reloads its figures this often, and warns when a queue's oldest
# due delivery has waited longer than the threshold (the alert rule in deploy/ uses the same).
OPS_REFRESH_SECONDS = env.int("OPS_REFRESH_SECONDS", default=5)
OPS_OLDEST_AGE_WARNING_SECONDS = env.float("OPS_OLDEST_AGE_WARNING_SECONDS", default=120.0)

# Log lines: "console" (readable, the default) or "json" (one object a line, for a log shipper).
# Every record of the bus carries event_id, delivery_id, handler, attempt, order_id and the Celery
# task id; the API's records a request_id that the deliveries it published carry too.
LOG_FORMAT = env("LOG_FORMAT", default="console")
PROCESS_TAG = f"[{env('SUPERVISOR_PROCESS_NAME')}] " if env("SUPERVISOR_PROCESS_NAME", default="") else ""
# Phone numbers and e-mail addresses are masked in every record either format writes (see
# pizzeria.ops.logs.logging_config); under supervisord each line carries its Procfile name.
LOGGING = logging_config(
    log_format=LOG_FORMAT, level=env("LOG_LEVEL", default="INFO"), process_tag=PROCESS_TAG
)
