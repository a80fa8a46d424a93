from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Installed last by bench.settings: swaps the real handlers for no-ops."""

    name = "bench"
    label = "bench"
    verbose_name = "Event-bus benchmark"

    def ready(self) -> None:
        from bench import bus, handlers

        handlers.install_noop_handlers()
        bus.from_environment()  # BENCH_BUS=off: the API phase's bus-off server (bench/bus.py)
