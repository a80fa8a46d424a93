import pytest

from simulation.workerproc import queues_purge
from tests.worker import make_worker

# The headless-Chromium `browser` fixture, for the browser tests (launched only where requested).
pytest_plugins = ["tests.browser", "tests.asgiserver"]


def clear_shared_cache() -> None:
    """Delete this test run's keys from the shared Redis cache (throttles, lockouts, streams).

    Not cache.clear(): that is FLUSHDB, and on a shared machine the cache's database (REDIS_URL's
    database + 1) may be another checkout's broker database.
    """
    from django.conf import settings
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]  # Django's RedisCache client
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    for key in client.scan_iter(match=f"{prefix}:*", count=500):
        client.delete(key)


@pytest.fixture(autouse=True)
def _fresh_shared_cache():
    from axes.handlers.proxy import AxesProxyHandler

    from pizzeria import redisbreaker
    from pizzeria.observability import counters

    redisbreaker.reset()  # a Redis a previous test froze or closed is not skipped in this one
    counters.flush()  # this process's batched metric increments land before the keys go
    clear_shared_cache()
    yield
    # axes keeps the cache object it was built with: a test that pointed CACHES elsewhere would
    # leave the next test's lockout on that (closed) cache.
    AxesProxyHandler.implementation = None


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real worker subprocess (all queues, embedded beat running the sweeper) for this module.

    Tests using it need committed rows: mark them @pytest.mark.django_db(transaction=True).
    """
    queues_purge()
    worker = make_worker().start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(celery_worker_process, transactional_db):
    """The module's worker, consuming, with queues purged before each test.

    Teardown makes it quiet before pytest-django truncates the tables (a handler or sweep still
    running during the TRUNCATE can deadlock with it): let deliveries settle briefly, stop
    consuming, wait until no task runs. The next test consumes again.
    """
    from eventbus.models import Delivery
    from pizzeria.celery import QUEUES, app
    from tests.polling import wait_until

    queues_purge()
    if celery_worker_process.proc.poll() is not None:
        pytest.fail(f"Worker died:\n{celery_worker_process.log_tail()}")
    name = [celery_worker_process.name]
    for queue in QUEUES:
        app.control.add_consumer(queue, destination=name, reply=True, timeout=2)
    yield celery_worker_process
    try:
        wait_until(
            lambda: not Delivery.objects.filter(status__in=["pending", "running"]).exists(),
            timeout=5,
            message="deliveries settled",
        )
    except AssertionError:
        pass  # a retry still waiting; stopping the consumers below is what matters
    for queue in QUEUES:
        app.control.cancel_consumer(queue, destination=name, reply=True, timeout=2)

    def idle():
        replies = app.control.inspect(destination=name, timeout=1).active()
        return replies is not None and not any(replies.values())

    wait_until(idle, timeout=15, message="worker idle")


@pytest.fixture
def time_machine_offset():
    """Shift this process's clock by N seconds (ticking) inside a `with` block."""
    import contextlib
    import datetime as dt

    import time_machine

    @contextlib.contextmanager
    def shifted(seconds: float):
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds), tick=True):
            yield

    return shifted
