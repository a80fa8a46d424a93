"""Where every settings module reads from: the process environment, filled in from .env."""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# .env only fills in variables; DJANGO_ENV_FILE points elsewhere (tests hide a developer's .env).
environ.Env.read_env(os.environ.get("DJANGO_ENV_FILE", str(BASE_DIR / ".env")), overwrite=False)
