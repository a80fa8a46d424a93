"""Breaking things on purpose: killed workers, a dead broker, competing sweepers."""

import os
import signal
import time

import pytest
import redis

from eventbus.models import Delivery, DeliveryAttempt
from ops.broker import queue_depths
from pizzeria.celery import app
from pizzeria.redisclient import redis_client as broker_client
from tests.eventbus.probes import (
    PROBE_A,
    PROBE_B,
    delivery,
    emit,
    key,
    redis_client,
    side_effects,
    wait_status,
)
from tests.polling import wait_until
from tests.worker import app_broker, free_port, make_worker, private_redis, redis_broker_only

pytestmark = [pytest.mark.worker, pytest.mark.faults]


def no_delivery_in_flight(worker, *, queue: str) -> bool:
    """Nothing waiting in `queue`, and no delivery running in or reserved by the worker."""
    depths = queue_depths((queue,))
    inspect = app.control.inspect(destination=[worker.name], timeout=1)
    active, reserved = inspect.active(), inspect.reserved()
    if depths is None or depths[queue].messages or active is None or reserved is None:
        return False
    return not any(
        task["name"] == "eventbus.run_delivery"
        for replies in (active, reserved)
        for tasks in replies.values()
        for task in tasks
    )


def test_worker_killed_mid_handler_completes_once_after_lease(worker):
    event = emit("block")
    r = redis_client()
    pid = int(wait_until(lambda: r.get(key(event, "started")), message="handler to start"))

    # when the pool process dies in the middle of the handler (side effect written, not committed)
    os.kill(pid, signal.SIGKILL)
    r.set(key(event, "release"), 1)

    # then the lease expires, the sweeper counts a lost attempt and the retry succeeds once
    d = wait_status(event, "succeeded", timeout=30)
    assert side_effects(event) == 1
    outcomes = list(
        DeliveryAttempt.objects.filter(delivery=d).order_by("number").values_list("outcome", flat=True)
    )
    assert outcomes == ["lost", "succeeded"]


def test_handler_that_always_kills_its_worker_ends_dead(worker):
    event = emit("kill")

    d = wait_status(event, "dead", timeout=60)

    assert d.attempts == 4  # probe_a's max_attempts
    assert d.last_error_class == "WorkerLost"
    assert DeliveryAttempt.objects.filter(delivery=d, outcome="lost").count() == 4
    assert side_effects(event) == 0
    # the same event's other handler was unaffected
    assert delivery(event, PROBE_B).status == "succeeded"
    # and it stays dead: no message for it is left to loop (none waiting, none in the worker)
    wait_until(
        lambda: no_delivery_in_flight(worker, queue="kitchen"),
        timeout=10,
        message="no delivery message waiting or in the worker",
    )
    assert delivery(event).attempts == 4


@pytest.mark.django_db(transaction=True)
@redis_broker_only
def test_broker_down_at_commit_then_sweeper_delivers_everything():
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with app_broker(url), private_redis(port) as broker:
        worker = make_worker(env={"REDIS_URL": url}).start()
        try:
            # when the broker goes away while events are committed
            broker.terminate()
            broker.wait(timeout=10)
            events, durations = [], []
            for _ in range(5):
                started = time.monotonic()
                events.append(emit("ok"))
                durations.append(time.monotonic() - started)

            # then committing stayed quick and the deliveries wait, unenqueued, for the sweeper
            assert max(durations) < 2.0, durations
            assert (
                Delivery.objects.filter(
                    event_id__in=[e.event_id for e in events], enqueued_at__isnull=True
                ).count()
                == 10
            )

            # when the broker is back on the same port
            with private_redis(port):
                for event in events:
                    for handler in (PROBE_A, PROBE_B):
                        wait_status(event, "succeeded", handler, timeout=60)
                        assert side_effects(event, handler) == 1
        finally:
            worker.stop()


@pytest.mark.django_db(transaction=True)
@redis_broker_only
def test_a_broker_out_of_memory_refuses_the_pipeline_and_nothing_is_lost():
    # A fault nobody listed: Redis answers but refuses every write (maxmemory reached, noeviction,
    # as a managed Redis does). The order's pipelined publish (wire.py) gets OOM errors back:
    # committing must not fail, every delivery is left to the sweeper, and once memory is freed
    # each handler's effect happens exactly once.
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with app_broker(url), private_redis(port):
        broker = broker_client(url)
        worker = make_worker(env={"REDIS_URL": url}).start()
        try:
            broker.config_set("maxmemory-policy", "noeviction")
            broker.config_set("maxmemory", "1")
            with pytest.raises(redis.exceptions.OutOfMemoryError):
                broker.lpush("kitchen", "probe")  # the broker really refuses writes now

            events = [emit("ok") for _ in range(3)]

            ids = [e.event_id for e in events]
            assert (
                Delivery.objects.filter(event_id__in=ids, status="pending", enqueued_at__isnull=True).count()
                == 6
            )
            assert broker.llen("kitchen") == 0 and broker.llen("analytics") == 0

            broker.config_set("maxmemory", "0")
            for event in events:
                for handler in (PROBE_A, PROBE_B):
                    wait_status(event, "succeeded", handler, timeout=60)
            for event in events:
                for handler in (PROBE_A, PROBE_B):
                    assert side_effects(event, handler) == 1
                    assert delivery(event, handler).attempts == 1
        finally:
            worker.stop()
