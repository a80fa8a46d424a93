"""The test settings with the project's own apps installed in reverse order (see test_app_order)."""

from pizzeria.settings.test import *  # noqa: F401,F403
from pizzeria.settings.test import INSTALLED_APPS

PROJECT_APPS = (
    "eventbus",
    "ops",
    "orders",
    "kitchen",
    "notifications",
    "analytics",
    "simulation",
    "integrations",
)
_OURS = [a for a in INSTALLED_APPS if a in PROJECT_APPS]
INSTALLED_APPS = [a for a in INSTALLED_APPS if a not in _OURS] + _OURS[::-1]
