"""Test settings: fast hashing, short bus durations so fault tests finish in seconds."""

from pizzeria.settings.base import *  # noqa: F401,F403
from pizzeria.settings.base import REST_FRAMEWORK, beat_schedule, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EVENTBUS_LEASE_SECONDS = env.float("EVENTBUS_LEASE_SECONDS", default=3.0)
EVENTBUS_SWEEP_INTERVAL = env.float("EVENTBUS_SWEEP_INTERVAL", default=0.5)
CELERY_BEAT_SCHEDULE = beat_schedule(EVENTBUS_SWEEP_INTERVAL)
EVENTBUS_REDISPATCH_AFTER = env.float("EVENTBUS_REDISPATCH_AFTER", default=5.0)
EVENTBUS_BACKOFF_BASE = env.float("EVENTBUS_BACKOFF_BASE", default=0.1)
EVENTBUS_BACKOFF_CAP = env.float("EVENTBUS_BACKOFF_CAP", default=1.0)
CELERY_TASK_SOFT_TIME_LIMIT = 2
CELERY_TASK_TIME_LIMIT = 2.5
NOTIFY_HTTP_TIMEOUT = env.float("NOTIFY_HTTP_TIMEOUT", default=1.5)  # a hung provider retries before the kill
# Webhook receivers in the tests listen on 127.0.0.1 only: loopback is the one private network opened.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
WEBHOOKS_PRIVATE_TARGET_NETWORKS = ["127.0.0.0/8"]
WEBHOOKS_HTTPS_ONLY = False
WEBHOOKS_TIMEOUT = env.float("WEBHOOKS_TIMEOUT", default=1.0)  # under the 2 s soft time limit
WEBHOOKS_CIRCUIT_FAILURE_THRESHOLD = 3
WEBHOOKS_CIRCUIT_COOLDOWN = env.float("WEBHOOKS_CIRCUIT_COOLDOWN", default=1.0)
WEBHOOKS_CIRCUIT_COOLDOWN_MAX = 2.0
# A fixed test-only inbound secret (base64 of 32 known bytes), never used outside the tests.
CLOUDEVENTS_INBOUND_SECRET = "whsec_dGVzdC1pbmJvdW5kLXNlY3JldC0wMTIzNDU2Nzg5YWI="
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"order_place": env("ORDER_PLACE_THROTTLE", default="1000/min")},
}

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# No collectstatic before tests: the test server serves static files through staticfiles' finders.
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise.")]  # noqa: F405
