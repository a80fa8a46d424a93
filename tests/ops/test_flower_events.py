"""Flower shows tasks from the workers' task events; it turns them on itself (enable_events).

A worker started with task events off starts sending them once asked, as Flower asks."""

import threading

import pytest

from pizzeria.celery import app
from simulation.workerproc import queues_purge
from tests.eventbus.probes import emit, wait_status
from tests.polling import wait_until
from tests.worker import make_worker

pytestmark = [pytest.mark.worker]


@pytest.mark.django_db(transaction=True)
def test_a_worker_sends_the_task_events_flower_needs_once_asked():
    queues_purge()
    worker = make_worker(beat=False, env={"CELERY_WORKER_SEND_TASK_EVENTS": "false"}).start()
    seen: list[dict] = []
    try:
        with app.connection_for_read() as conn:
            receiver = app.events.Receiver(conn, handlers={"*": seen.append})
            thread = threading.Thread(
                target=lambda: receiver.capture(limit=None, timeout=None, wakeup=False), daemon=True
            )
            thread.start()
            try:
                before = emit("ok")
                wait_status(before, "succeeded")
                assert not [e for e in seen if e["type"].startswith("task-")], (
                    "events were on before anyone asked"
                )

                app.control.enable_events(
                    destination=[worker.name], reply=True, timeout=2
                )  # what Flower does
                event = emit("ok")
                wait_status(event, "succeeded")

                def task_events():
                    types = {e["type"] for e in seen if e.get("hostname") == worker.name}
                    return types if {"task-received", "task-started", "task-succeeded"} <= types else None

                wait_until(task_events, timeout=15, message="task-received/started/succeeded")
            finally:
                receiver.should_stop = True
                thread.join(timeout=5)
    finally:
        worker.stop()
