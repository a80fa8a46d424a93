from django.apps import AppConfig


class EventbusConfig(AppConfig):
    name = "pizzeria.eventbus"
    label = "eventbus"
    verbose_name = "Event bus"

    def ready(self) -> None:
        from pizzeria.eventbus import signals  # noqa: F401  (connects the one post_save receiver)
