from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Installed last by pizzeria.settings.bench: swaps the real handlers for no-ops."""

    name = "pizzeria.bench"
    label = "bench"
    verbose_name = "Event-bus benchmark"

    def ready(self) -> None:
        from pizzeria.bench import handlers

        handlers.install_noop_handlers()
