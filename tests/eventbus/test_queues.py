"""Publishers find run_delivery by name (eventbus/queues.py) in every process, the web's included."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_fresh_web_process_finds_the_delivery_task_by_name_without_importing_tasks_itself():
    # A process that only set Django up, as gunicorn's workers do: Celery's autodiscovery never ran
    # there, so the task is registered only if the bus's AppConfig imports its tasks module.
    code = (
        "import django; django.setup(); from celery import current_app; "
        "from eventbus.queues import RUN_DELIVERY; print(current_app.tasks[RUN_DELIVERY].name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "pizzeria.settings.test"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "eventbus.run_delivery"
