"""The worker's database health check (pizzeria/celery.py): before a task's first query only after
the process was idle, so a busy worker pays no `SELECT 1` per delivery."""

import pytest
from django.db import connection

import pizzeria.celery as worker_hooks


@pytest.fixture
def open_connection():
    connection.ensure_connection()
    saved = worker_hooks._last_task_end
    yield connection
    worker_hooks._last_task_end = saved


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("after_idle", "skipped"), [(1.0, True), (0, False)])
def test_a_task_right_after_another_skips_the_health_check_unless_set_to_zero(
    open_connection, settings, after_idle, skipped
):
    settings.DB_HEALTH_CHECK_AFTER_IDLE_SECONDS = after_idle
    worker_hooks._after_task()
    worker_hooks._before_task()
    assert open_connection.health_check_done is skipped  # False: the next query runs SELECT 1 first
    assert open_connection.connection is not None


@pytest.mark.django_db(transaction=True)
def test_a_task_after_idleness_checks_the_connection_first(open_connection, settings):
    settings.DB_HEALTH_CHECK_AFTER_IDLE_SECONDS = 1.0
    worker_hooks._last_task_end = float("-inf")  # never ran a task, or long ago
    worker_hooks._before_task()
    assert open_connection.health_check_done is False  # the next query runs SELECT 1 first


@pytest.mark.django_db(transaction=True)
def test_a_connection_that_saw_an_error_and_died_is_closed_after_the_task(open_connection, settings):
    settings.DB_HEALTH_CHECK_AFTER_IDLE_SECONDS = 1.0
    open_connection.errors_occurred = True
    open_connection.connection.close()  # the server went away
    worker_hooks._after_task()
    assert open_connection.connection is None
    worker_hooks._before_task()  # nothing to mark: the next query opens a new connection
    assert open_connection.connection is None
