"""Test settings: fast hashing, short bus durations so fault tests finish in seconds."""

from django.core.exceptions import ImproperlyConfigured

from pizzeria.settings.base import *  # noqa: F401,F403
from pizzeria.settings.base import CACHES, THROTTLE_RATES, beat_schedule, env

if _missing := [name for name in ("DATABASE_URL", "REDIS_URL") if not env(name, default="")]:
    raise ImproperlyConfigured(
        f"{' and '.join(_missing)} not set: run the suite with `make test`, which starts an embedded "
        "PostgreSQL and Valkey for it (or set both to servers the tests may purge)."
    )

# Chosen by `make test` / pytest.ini, never by default; a fixed key is harmless here.
SECRET_KEY = "test-only-key-not-secret-8d5f0c1e2b7a4a9c9e3f6b1d2c4a8e7f"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
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
# Generous limits so ordinary tests never meet them; the abuse tests set their own.
THROTTLE_RATES.update({scope: env("TEST_THROTTLE_RATE", default="1000/min") for scope in THROTTLE_RATES})
SMS_PER_RECIPIENT_PER_HOUR = env.int(
    "SMS_PER_RECIPIENT_PER_HOUR", default=1000
)  # worker tests text one number
# A key prefix of its own: the autouse fixture in tests/conftest.py deletes these keys
# before each test, so throttle and lockout counts never leak from one test into the next.
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="pizzeria-test")}}

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# No collectstatic before tests: the test server serves static files through staticfiles' finders.
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise.")]  # noqa: F405
