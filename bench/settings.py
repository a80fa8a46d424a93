"""Settings for `python -m bench`: production-like bus settings, no beat, no DEBUG.

The last installed app, `bench`, replaces every registered handler by five no-op
handlers for OrderPlaced (one per handler queue) in the bench process and in its worker.
"""

from pizzeria.settings.base import *  # noqa: F401,F403
from pizzeria.settings.base import env

DEBUG = False  # DEBUG keeps every SQL query in memory: not what production pays
SECRET_KEY = env("SECRET_KEY", default="") or "bench-only-key-never-serves-requests"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # the seed's one user
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405  (last: its ready() runs last)
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405  (the order request measured with Django's test client)
CELERY_BEAT_SCHEDULE = {}  # the bench calls the sweeper itself
LOGGING = {
    **LOGGING,  # noqa: F405
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
ROOT_URLCONF = "bench.urls"  # the product's URLs + the API phase's minimal create (bench/urls.py)
