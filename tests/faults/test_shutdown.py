"""A warm shutdown (SIGTERM, what the supervisor and systemd send) finishes the running handler."""

import signal

import pytest
from django.db import transaction

from eventbus.models import Delivery, DeliveryAttempt
from simulation.workerproc import queues_purge
from tests.eventbus.probes import PROBE_A, PROBE_B, emit, key, redis_client, side_effects
from tests.faults.conftest import wait_all_succeeded
from tests.polling import wait_until
from tests.worker import make_worker

pytestmark = [pytest.mark.worker, pytest.mark.faults]


@pytest.mark.django_db(transaction=True)
def test_sigterm_mid_handler_finishes_it_once_and_a_new_worker_takes_the_rest():
    queues_purge()
    worker = make_worker(concurrency=1).start()
    replacement = None
    try:
        # given a handler in the middle of its work and more deliveries queued behind it (all
        # committed at once)
        with transaction.atomic():
            running = emit("block")
            queued = [emit("ok") for _ in range(3)]
        r = redis_client()
        wait_until(lambda: r.get(key(running, "started")), message="handler to start")

        # when the worker is told to stop (warm shutdown) and the handler then finishes
        worker.proc.send_signal(signal.SIGTERM)
        r.set(key(running, "release"), 1)
        worker.proc.wait(timeout=30)

        # then the running handler completed exactly once, with no lost attempt
        d = Delivery.objects.get(event_id=running.event_id, handler=PROBE_A)
        assert d.status == Delivery.Status.SUCCEEDED
        assert list(DeliveryAttempt.objects.filter(delivery=d).values_list("outcome", flat=True)) == [
            "succeeded"
        ]

        # and what it had not started waits in the broker for the next worker
        replacement = make_worker(concurrency=1).start()
        events = [running, *queued]
        wait_all_succeeded([e.event_id for e in events], timeout=60)
        for event in events:
            assert side_effects(event, PROBE_A) == 1 and side_effects(event, PROBE_B) == 1
    finally:
        worker.stop()
        if replacement is not None:
            replacement.stop()
