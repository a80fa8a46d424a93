import os

from django.core.asgi import get_asgi_application

from pizzeria.ops import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pizzeria.settings.production")
tracing.setup("pizzeria-web")  # see wsgi.py
application = get_asgi_application()
