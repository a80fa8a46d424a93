"""The collector's settings in the processes that serve (pizzeria/gctuning.py).

Each case runs in a fresh interpreter: freezing is for the life of a process, and this one runs
the whole suite.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest

from pizzeria import gctuning

DEFAULTS = list(gc.get_threshold())  # Python's own, untouched in the test process

WEB = "import pizzeria.asgi"
WSGI = "import pizzeria.wsgi"
WORKER = """
import django
django.setup()
from celery.signals import worker_init
from pizzeria.celery import app
worker_init.send(sender=None)  # as a worker's main process sends it before the pool forks
"""


def gc_state_after(code: str, **env: str) -> dict:
    probe = "import gc, json; print(json.dumps([gc.get_freeze_count(), list(gc.get_threshold())]))"
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{probe}"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "pizzeria.settings.test", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen, thresholds = json.loads(out.stdout.strip().splitlines()[-1])
    return {"frozen": frozen, "thresholds": thresholds}


@pytest.mark.parametrize("start", [WEB, WSGI, WORKER], ids=["asgi", "wsgi", "celery-worker"])
def test_a_serving_process_freezes_what_start_up_built_and_collects_young_objects_less_often(start):
    state = gc_state_after(start)
    assert state["thresholds"] == list(gctuning.THRESHOLDS)
    assert state["frozen"] > 50_000  # Django, DRF, Celery… (about 170,000 objects)


@pytest.mark.parametrize("start", [WEB, WORKER], ids=["asgi", "celery-worker"])
def test_gc_tuning_off_keeps_pythons_defaults(start):
    assert gc_state_after(start, GC_TUNING="off") == {"frozen": 0, "thresholds": DEFAULTS}


def test_the_switch():
    assert gctuning.wanted({}) is True
    assert gctuning.wanted({"GC_TUNING": "on"}) is True
    assert all(gctuning.wanted({"GC_TUNING": v}) is False for v in ("off", "OFF", "0", "false", "no"))
    before = (gc.get_threshold(), gc.get_freeze_count())
    assert gctuning.tune({"GC_TUNING": "off"}) is False
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
