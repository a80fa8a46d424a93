from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "pizzeria.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from pizzeria.ops import receivers  # noqa: F401
