"""The settings mypy's Django plugin loads (pyproject.toml): the test settings, which also install the
test-only app, without services. The plugin only imports them to learn the apps and models; it never
connects, so placeholder URLs stand in for the servers the test settings otherwise insist on."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://typecheck.invalid/unused")
os.environ.setdefault("REDIS_URL", "redis://typecheck.invalid/0")

from pizzeria.settings.test import *  # noqa: E402,F401,F403
