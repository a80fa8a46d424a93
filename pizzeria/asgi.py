"""The web process (the Procfile's `web:` line): live streams async, the rest of the site on threads.

See pizzeria.livegate and docs/live-pages.md.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pizzeria.settings.production")
# A web request's on-commit publish waits at most this long on a Redis broker that stopped
# answering, once (then the Redis breaker skips it). Workers keep the longer default, which
# lets them ride out a frozen Redis without reconnecting in a loop (6 s vs 15-21 s back after a thaw).
os.environ.setdefault("CELERY_REDIS_SOCKET_TIMEOUT", "1.0")

from pizzeria import gctuning  # noqa: E402
from pizzeria.livegate import build_application  # noqa: E402 - after the settings module is chosen
from pizzeria.observability import tracing  # noqa: E402

tracing.setup("pizzeria-web")  # before the application loads its middleware (see wsgi.py)
application = build_application()
gctuning.tune()  # after start-up: its objects are frozen (pizzeria/gctuning.py)
