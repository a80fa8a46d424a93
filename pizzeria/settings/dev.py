"""Development settings, chosen by `make run`: DEBUG on, local hosts, a key of this checkout.

The key is random, made once and kept in .run/ (git-ignored), so even a development server
never signs sessions with a key published in the repository.
"""

import os
import secrets

from pizzeria.settings.base import *  # noqa: F401,F403
from pizzeria.settings.base import BASE_DIR, DEV_CLOUDEVENTS_INBOUND_SECRET, env

DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])


def _checkout_secret_key() -> str:
    path = BASE_DIR / ".run" / "dev-secret-key"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}")
        tmp.write_text(secrets.token_urlsafe(50))
        os.replace(tmp, path)  # atomic: processes starting together all read a whole key
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default="") or _checkout_secret_key()

# Integrations: local webhook receivers (127.0.0.1) over plain http, and a known inbound secret
# so a signed payment CloudEvent can be tried with curl (manage.py cloudevent_payment).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=True)
WEBHOOKS_HTTPS_ONLY = env.bool("WEBHOOKS_HTTPS_ONLY", default=False)
CLOUDEVENTS_INBOUND_SECRET = env("CLOUDEVENTS_INBOUND_SECRET", default=DEV_CLOUDEVENTS_INBOUND_SECRET)
