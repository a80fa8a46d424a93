"""The test settings with the project's own apps installed in reverse order (see test_app_order)."""

from pizzeria.settings.test import *  # noqa: F401,F403
from pizzeria.settings.test import INSTALLED_APPS

_OURS = [
    a
    for a in INSTALLED_APPS
    if a.startswith(("pizzeria.", "orders", "kitchen", "notifications", "analytics"))
]
INSTALLED_APPS = [a for a in INSTALLED_APPS if a not in _OURS] + _OURS[::-1]
