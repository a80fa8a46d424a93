"""Redis dies while the pools are busy and comes back empty: every delivery still completes once.

The worker and this test's publishing side use a private redis-server the test kills. The
sweeper's stale re-send is pushed out to 300 s (its production default) so only the bus's
detection of a broker that lost its data can bring the lost messages back within the minute.
"""

import signal
import time

import pytest

from tests.eventbus.probes import PROBE_A, PROBE_B, emit, side_effects
from tests.faults.conftest import wait_all_succeeded
from tests.polling import wait_until
from tests.worker import app_broker, free_port, make_worker, private_redis, redis_broker_only

pytestmark = [pytest.mark.worker, pytest.mark.faults, redis_broker_only]

WORKER_ENV = {"EVENTBUS_REDISPATCH_AFTER": "300"}


def _kill(broker) -> None:
    broker.send_signal(signal.SIGKILL)
    broker.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("restarts", [1, 3], ids=["once", "three-times-in-a-minute"])
def test_redis_killed_while_pools_are_busy_and_restarted_empty(restarts, recovery):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    events = []
    with app_broker(url):
        broker_cm = private_redis(port)
        broker = broker_cm.__enter__()
        worker = make_worker(concurrency=1, env={"REDIS_URL": url, **WORKER_ENV}).start()
        try:
            for round_ in range(restarts):
                # given the pools busy and a backlog of messages waiting in Redis
                backlog = [emit("slow:0.4") for _ in range(8)]
                events += backlog
                wait_until(
                    lambda: side_effects(backlog[0], PROBE_A) or side_effects(backlog[0], PROBE_B),  # noqa: B023 - called in this iteration
                    message="the pools to start on the backlog",
                )

                # when Redis is killed (no persistence: every queued message is gone) ...
                _kill(broker)
                broker_cm.__exit__(None, None, None)
                events += [emit("ok") for _ in range(3)]  # placed while the broker is down
                time.sleep(10 if restarts == 1 else 5)

                # ... and comes back empty on the same port
                broker_cm = private_redis(port)
                broker = broker_cm.__enter__()
                recovery.start()
                if round_ < restarts - 1:
                    time.sleep(5)

            # then the worker is still up, and every delivery completes within a minute, once
            wait_all_succeeded([e.event_id for e in events], timeout=60)
            recovery.stop()
            assert worker.alive(), worker.log_tail()
            assert "Unrecoverable error" not in worker.log_tail(400)
            for event in events:
                assert side_effects(event, PROBE_A) == 1
                assert side_effects(event, PROBE_B) == 1
        finally:
            worker.stop()
            broker_cm.__exit__(None, None, None)
