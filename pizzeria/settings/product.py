"""The apps' own settings: notifications' providers, integrations, kitchen and live pages, the ops
surface. Read from the environment like the rest (base.py imports them all; overrides go in dev,
test and production as for any setting)."""

from pizzeria.settings.environment import env

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
# the provider: an unknown outcome, as a timeout (notifications/journal.py). Unset: 2 × NOTIFY_HTTP_TIMEOUT + 5.
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
