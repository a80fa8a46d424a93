from django.apps import AppConfig


class KitchenConfig(AppConfig):
    name = "kitchen"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kitchen import handlers  # noqa: F401  (registers this app's event handlers)
