"""The database goes away and comes back: every delivery completes, no message is acked away."""

import time

import pytest
from django.db import connection

from eventbus.models import Delivery, DeliveryAttempt
from simulation.workerproc import queues_purge
from tests.eventbus.probes import PROBE_A, PROBE_B, emit, key, redis_client, side_effects
from tests.faults.conftest import wait_all_succeeded
from tests.faults.proxy import CuttableProxy
from tests.polling import wait_until
from tests.worker import make_worker, worker_database_url

pytestmark = [
    pytest.mark.worker,
    pytest.mark.faults,
]


def _terminate_app_connections() -> int:
    """pg_terminate_backend on every connection to the test database but this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_all_connections_cut_mid_run(recovery):
    queues_purge()
    worker = make_worker(concurrency=2).start()
    try:
        # given a handler in the middle of its transaction and more deliveries flowing
        blocked = emit("block")
        r = redis_client()
        wait_until(lambda: r.get(key(blocked, "started")), message="handler to start")
        before = [emit("ok") for _ in range(5)]

        # when every connection of the application is cut
        assert _terminate_app_connections() >= 1
        recovery.start()
        r.set(key(blocked, "release"), 1)
        after = [emit("ok") for _ in range(5)]

        # then everything completes, each handler's effect exactly once, with no manual action
        events = [blocked, *before, *after]
        wait_all_succeeded([e.event_id for e in events], timeout=60)
        recovery.stop()
        for event in events:
            assert side_effects(event, PROBE_A) == 1
            assert side_effects(event, PROBE_B) == 1
        # the cut attempt is on record with the connection error (Django reconnected at once, so
        # it was recorded as an ordinary failed attempt, or released by the retried message)
        d = Delivery.objects.get(event_id=blocked.event_id, handler=PROBE_A)
        outcomes = list(DeliveryAttempt.objects.filter(delivery=d).values_list("error_class", "outcome"))
        assert outcomes[-1] == ("", "succeeded")
        assert outcomes[0] in {("DatabaseLost", "failed"), ("django.db.utils.OperationalError", "failed")}
        assert worker.alive()
    finally:
        worker.stop()


@pytest.mark.django_db(transaction=True)
def test_database_stopped_for_15_seconds_then_back(recovery):
    """The workers reach Postgres through a proxy the test can stop: a restart as the app sees it."""
    queues_purge()
    s = connection.settings_dict
    proxy = CuttableProxy((s["HOST"] or "127.0.0.1", int(s["PORT"] or 5432))).start()
    url = worker_database_url().replace(f":{s['PORT'] or 5432}/", f":{proxy.port}/")
    worker = make_worker(concurrency=2, env={"DATABASE_URL": url}).start()
    try:
        before = [emit("ok") for _ in range(5)]
        wait_all_succeeded([e.event_id for e in before], timeout=30)

        # when the database is gone for 15 s while orders keep coming (written by this process)
        proxy.cut()
        during = [emit("ok") for _ in range(10)]
        time.sleep(15)  # the outage itself
        assert (
            Delivery.objects.filter(
                event_id__in=[e.event_id for e in during], status=Delivery.Status.SUCCEEDED
            ).count()
            == 0
        )
        proxy.resume()
        recovery.start()

        # then every delivery completes within a minute of the database's return
        wait_all_succeeded([e.event_id for e in during], timeout=60)
        recovery.stop()
        for event in during:
            assert side_effects(event, PROBE_A) == 1 and side_effects(event, PROBE_B) == 1
        assert worker.alive()
    finally:
        worker.stop()
        proxy.stop()
