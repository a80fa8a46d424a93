import os

from django.core.wsgi import get_wsgi_application

from pizzeria.ops import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pizzeria.settings.production")
# Before the application loads its middleware (the Django instrumentation adds its own); gunicorn
# imports this module in each worker process, after the fork. Nothing happens when tracing is off.
tracing.setup("pizzeria-web")
application = get_wsgi_application()
