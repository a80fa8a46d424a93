import os

from django.core.wsgi import get_wsgi_application

from pizzeria import gctuning
from pizzeria.observability import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pizzeria.settings.production")
# A web request's on-commit publish waits at most this long on a Redis broker that stopped
# answering, once (then the Redis breaker skips it). Workers keep the longer default, which
# lets them ride out a frozen Redis without reconnecting in a loop (6 s vs 15-21 s back after a thaw).
os.environ.setdefault("CELERY_REDIS_SOCKET_TIMEOUT", "1.0")
# Before the application loads its middleware (the Django instrumentation adds its own); gunicorn
# imports this module in each worker process, after the fork. Nothing happens when tracing is off.
tracing.setup("pizzeria-web")
application = get_wsgi_application()
gctuning.tune()  # after start-up: its objects are frozen (pizzeria/gctuning.py)
