"""A worker whose clock is 30 s off still claims at once and never steals a live lease."""

import time

import pytest

from eventbus.models import Delivery, DeliveryAttempt
from simulation.workerproc import queues_purge
from tests.eventbus.probes import PROBE_A, emit, key, redis_client, side_effects
from tests.faults.conftest import wait_all_succeeded
from tests.polling import wait_until
from tests.worker import make_worker

pytestmark = [
    pytest.mark.worker,
    pytest.mark.faults,
]


@pytest.mark.django_db(transaction=True)
def test_worker_30s_behind_claims_due_deliveries_at_once():
    queues_purge()
    worker = make_worker(env={"TEST_CLOCK_OFFSET_SECONDS": "-30"}).start()
    try:
        events = [emit("ok") for _ in range(5)]
        wait_all_succeeded([e.event_id for e in events], timeout=60)
        for d in Delivery.objects.filter(event_id__in=[e.event_id for e in events]):
            # one attempt each, claimed within seconds of being due by the database's clock (a
            # claim judged by the worker's clock would have waited 30 s)
            assert d.attempts == 1
            assert (d.claimed_at - d.next_attempt_at).total_seconds() < 10, d
    finally:
        worker.stop()


@pytest.mark.django_db(transaction=True)
def test_worker_30s_ahead_does_not_expire_a_live_lease(settings):
    queues_purge()
    # this worker also runs the sweeper (embedded beat), 30 s ahead of the database
    worker = make_worker(env={"TEST_CLOCK_OFFSET_SECONDS": "30"}).start()
    try:
        event = emit("block")
        r = redis_client()
        wait_until(lambda: r.get(key(event, "started")), message="handler to start")
        # the handler holds its lease for a while (less than the lease): several sweeps run
        time.sleep(settings.EVENTBUS_LEASE_SECONDS / 2)
        r.set(key(event, "release"), 1)
        wait_all_succeeded([event.event_id], timeout=30)
        d = Delivery.objects.get(event_id=event.event_id, handler=PROBE_A)
        assert list(DeliveryAttempt.objects.filter(delivery=d).values_list("outcome", flat=True)) == [
            "succeeded"
        ]
        assert side_effects(event) == 1
    finally:
        worker.stop()
