"""The Celery app reads Django's CELERY_* settings from a snapshot (pizzeria/celery.py: CelerySettings)."""

from unittest import mock

from django.conf import LazySettings, settings

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
