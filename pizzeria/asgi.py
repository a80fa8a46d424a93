"""The web process (the Procfile's `web:` line): live streams async, the rest of the site on threads.

See pizzeria.livegate and docs/live-pages.md.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pizzeria.settings.production")

from pizzeria.livegate import build_application  # after the settings module is chosen

application = build_application()
