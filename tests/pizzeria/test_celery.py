"""pizzeria/celery.py: the app reads Django's CELERY_* settings from a snapshot (CelerySettings); the
worker's database health check runs before a task's first query only after the process was idle,
so a busy worker pays no `SELECT 1` per delivery."""

from unittest import mock

import pytest
from django.conf import LazySettings, settings
from django.db import connection

import pizzeria.celery as worker_hooks
from pizzeria.celery import CelerySettings, app


def test_every_celery_setting_reaches_the_app_under_its_celery_name():
    keys = [k for k in dir(settings) if k.startswith("CELERY_")]
    assert "CELERY_TASK_ACKS_LATE" in keys and len(keys) > 10
    for key in keys:
        assert app.conf[key] == getattr(settings, key), key  # the spelling Celery's Django fixup uses
    assert app.conf.task_acks_late is settings.CELERY_TASK_ACKS_LATE
    assert app.conf.worker_prefetch_multiplier == settings.CELERY_WORKER_PREFETCH_MULTIPLIER
    assert app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX


def test_only_celery_settings_pass_through_celerys_config_under_celerys_names():
    names = set(CelerySettings())
    assert names == {k.removeprefix("CELERY_").lower() for k in dir(settings) if k.startswith("CELERY_")}
    assert {"task_acks_late", "broker_url", "db_reuse_max"} <= names
    assert "SECRET_KEY" not in app.conf and "secret_key" not in app.conf


def test_no_setting_is_called_deprecated():
    # celery/celery#6366: keyed by Django's names, CELERY_RESULT_SERIALIZER, CELERY_ACCEPT_CONTENT,
    # CELERY_TIMEZONE ... read as Celery 3 settings and each worker start logged six warnings.
    assert not app.conf.deprecated_settings
    assert app.conf.maybe_warn_deprecated_settings() is False


def test_a_config_lookup_no_longer_goes_through_djangos_lazy_settings():
    # With config_from_object("django.conf:settings", namespace="CELERY") every lookup below called
    # LazySettings.__getattr__ two or three times (one AttributeError per spelling not set).
    _ = app.conf.task_acks_late  # loaded
    with mock.patch.object(
        LazySettings, "__getattr__", autospec=True, side_effect=LazySettings.__getattr__
    ) as spy:
        for _ in range(100):
            _ = (
                app.conf.task_acks_late,
                app.conf.task_routes,
                app.conf.task_publish_retry,
                app.conf.task_protocol,
            )
    assert spy.call_count == 0


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
