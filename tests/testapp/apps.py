from django.apps import AppConfig


class TestappConfig(AppConfig):
    """Test-only app (installed by pizzeria.settings.test): a probe aggregate and probe handlers."""

    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tests.testapp import handlers  # noqa: F401

        _skew_clock_if_asked()


def _skew_clock_if_asked() -> None:
    """TEST_CLOCK_OFFSET_SECONDS=N: this process's wall clock runs N seconds off (clock-skew tests).

    Set on a worker subprocess; its pool processes inherit the shifted clock when they fork.
    """
    import datetime as dt
    import os

    offset = os.environ.get("TEST_CLOCK_OFFSET_SECONDS")
    if not offset:
        return
    import time_machine

    target = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=float(offset))
    time_machine.travel(target, tick=True).start()
