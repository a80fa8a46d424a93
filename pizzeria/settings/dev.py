"""Development settings, chosen by `make run` and by manage.py in a checkout where it has run.

DEBUG on, local hosts, a key of this checkout: random, made once and kept in .run/ (git-ignored),
so even a development server never signs sessions with a key published in the repository.

The database and broker are the running `make run` stack's: pizzeria.devservices writes their
addresses to .run/services.env, read here before the base settings read the environment (a
variable already set wins). Without them the settings refuse, in one line, rather than fall back
to a localhost Redis that may be somebody else's.
"""

import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

RUN_DIR = Path(os.environ.get("PIZZERIA_RUN_DIR") or Path(__file__).resolve().parents[2] / ".run")
SERVICES_FILE = RUN_DIR / "services.env"
if SERVICES_FILE.exists():
    environ.Env.read_env(str(SERVICES_FILE), overwrite=False)

from pizzeria.settings.base import *  # noqa: E402,F401,F403
from pizzeria.settings.base import DEV_CLOUDEVENTS_INBOUND_SECRET, THROTTLE_RATES, env  # noqa: E402

_missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not env(name, default="")]
if _missing:
    raise ImproperlyConfigured(
        f"{' and '.join(_missing)} not set, and no running development stack was found ({SERVICES_FILE} "
        "is missing): start `make run` in another shell first, or set them yourself."
    )

DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])


def _checkout_secret_key() -> str:
    path = RUN_DIR / "dev-secret-key"
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

# `make demo` plays every customer from 127.0.0.1: production's per-address limits (60 orders a
# minute, 10 sign-ups an hour) refused most of its orders and sign-ups with 429s. Development
# lifts those two; the per-account limits and every limit in production stay as they are.
THROTTLE_RATES.update(
    {
        "register_ip": env("THROTTLE_REGISTER_IP", default="2000/hour"),
        "order_place_ip": env("THROTTLE_ORDER_PLACE_IP", default="3000/min"),
    }
)
