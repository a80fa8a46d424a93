import pytest

from tests.worker import WorkerProcess, purge_queues


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real worker subprocess (all queues, embedded beat running the sweeper) for this module.

    Tests using it need committed rows: mark them @pytest.mark.django_db(transaction=True).
    """
    purge_queues()
    worker = WorkerProcess().start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(celery_worker_process, transactional_db):
    """The module's worker, with queues purged before each test; fails with the worker's log."""
    purge_queues()
    if celery_worker_process.proc.poll() is not None:
        pytest.fail(f"Worker died:\n{celery_worker_process.log_tail()}")
    yield celery_worker_process
