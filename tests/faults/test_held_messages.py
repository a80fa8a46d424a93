"""A worker SIGKILLed while it holds messages it has not started (a prefetch above one).

Ack emulation is off on Redis (settings, CELERY_REDIS_ACK_EMULATION): Redis keeps no copy of a
message a worker took, so those messages die with the worker. Their rows stay pending; the
sweeper re-sends them after EVENTBUS_REDISPATCH_AFTER (5 s in tests, 300 s in production) and
the running one comes back at its lease's expiry. Every handler's effect happens once.
"""

import pytest
from django.conf import settings

from eventbus.models import Delivery
from pizzeria.redisclient import redis_client
from simulation.workerproc import queues_purge
from tests.eventbus.probes import PROBE_A, PROBE_B, emit, side_effects
from tests.faults.conftest import wait_all_succeeded
from tests.polling import wait_until
from tests.worker import make_worker, redis_broker_only

pytestmark = [pytest.mark.worker, pytest.mark.faults, redis_broker_only]

KITCHEN = "kitchen"  # PROBE_A's queue (tests/testapp/handlers.py)


@pytest.mark.django_db(transaction=True)
def test_messages_a_killed_worker_held_unstarted_are_re_sent_and_run_once(recovery):
    queues_purge()
    broker = redis_client(settings.CELERY_BROKER_URL)
    holder = make_worker(beat=False, concurrency=1, env={"CELERY_WORKER_PREFETCH_MULTIPLIER": "4"}).start()
    try:
        events = [emit("slow:1") for _ in range(6)]
        kitchen = Delivery.objects.filter(event_id__in=[e.event_id for e in events], handler=PROBE_A)

        def holding() -> bool:
            # one kitchen delivery running, and more of them pending than the queue still has:
            # the worker holds their messages without having started them
            running = kitchen.filter(status=Delivery.Status.RUNNING).count()
            pending = kitchen.filter(status=Delivery.Status.PENDING).count()
            return running == 1 and pending > broker.llen(KITCHEN)

        wait_until(holding, timeout=30, interval=0.05, message="the worker holding unstarted messages")
        holder.kill()  # SIGKILL: the main process and its pool process
    finally:
        holder.kill()

    # the held messages are gone from Redis (no "unacked" copy); their rows are all that is left
    pending = kitchen.filter(status=Delivery.Status.PENDING).count()
    assert broker.llen(KITCHEN) < pending and not broker.exists("unacked")

    recovery.start()
    sweeping = make_worker(beat=True, concurrency=2).start()
    try:
        wait_all_succeeded([e.event_id for e in events], timeout=60)
        recovery.stop()  # kill -> a worker and the sweeper back -> every delivery succeeded
    finally:
        sweeping.stop()
    for event in events:
        assert side_effects(event, PROBE_A) == 1 and side_effects(event, PROBE_B) == 1
