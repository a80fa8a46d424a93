"""Development settings, chosen by `make run`: DEBUG on, local hosts, a key of this checkout.

The key is random, made once and kept in .run/ (git-ignored), so even a development server
never signs sessions with a key published in the repository.
"""

import os
import secrets

from pizzeria.settings.base import *  # noqa: F401,F403
from pizzeria.settings.base import BASE_DIR, env

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
