"""The event catalogue and the handler registry do not depend on the order of INSTALLED_APPS."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SNAPSHOT = """
import json, django
django.setup()
from django.conf import settings
from eventbus import events, registry
print(json.dumps({
    "apps": [a for a in settings.INSTALLED_APPS if a in ("eventbus", "ops", "orders", "kitchen", "integrations")],
    "events": sorted(events.event_types()),
    "handlers": sorted((s.name, s.event_type, s.queue) for s in registry.all_handlers()),
    "families": sorted(f.prefix for f in registry.all_families()),
}))
"""


def snapshot(settings_module: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module}
    out = subprocess.run(
        [sys.executable, "-c", SNAPSHOT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_reversing_installed_apps_changes_neither_catalogue_nor_handlers():
    usual = snapshot("pizzeria.settings.test")
    reversed_ = snapshot("tests.pizzeria.settings_reversed_apps")

    assert reversed_["apps"] != usual["apps"], "the reversed settings must really reorder the apps"
    assert usual["families"] == ["integrations.webhook."]
    assert len(usual["events"]) >= 10 and len(usual["handlers"]) >= 10
    for key in ("events", "handlers", "families"):
        assert reversed_[key] == usual[key], key
