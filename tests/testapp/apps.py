from django.apps import AppConfig


class TestappConfig(AppConfig):
    """Test-only app (installed by pizzeria.settings.test): a probe aggregate and probe handlers."""

    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tests.testapp import handlers  # noqa: F401
