"""Production settings, the default of manage.py, wsgi, asgi and celery.

Every secret and address comes from the environment; a missing one stops the process at start
with a message naming it, instead of running on a default that only suits a laptop.
"""

from django.core.exceptions import ImproperlyConfigured

from pizzeria.settings.base import *  # noqa: F401,F403
from pizzeria.settings.base import ALLOWED_HOSTS, CACHE_URL, CELERY_BROKER_URL, env

DEV_HINT = "For local development run `make run`, or export DJANGO_SETTINGS_MODULE=pizzeria.settings.dev."


def required(name: str, *, value: str | None = None) -> str:
    """The variable's value (from the environment or .env), or ImproperlyConfigured naming it."""
    value = env(name, default="") if value is None else value
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. pizzeria.settings.production (the default settings of manage.py, "
            f"wsgi, asgi and celery) needs it in the environment or in .env. {DEV_HINT}"
        )
    return value


DEBUG = False
SECRET_KEY = required("SECRET_KEY")
required("ALLOWED_HOSTS", value=",".join(ALLOWED_HOSTS))
# Development falls back to embedded services (pizzeria.devservices); production names its own.
required("DATABASE_URL")
# Redis carries the cache (throttles, lockouts), the display's pub/sub and, by default, the broker.
required("REDIS_URL")
# cache.clear() is FLUSHDB: on the broker's database it would empty every queue.
if CACHE_URL.rstrip("/") == CELERY_BROKER_URL.rstrip("/"):
    raise ImproperlyConfigured(
        f"CACHE_URL is the broker's URL ({CELERY_BROKER_URL!r}): give the cache a Redis database of its own "
        "(unset CACHE_URL to use REDIS_URL's database + 1)."
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
