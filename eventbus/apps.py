from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class EventbusConfig(AppConfig):
    name = "eventbus"
    label = "eventbus"
    verbose_name = "Event bus"

    def ready(self) -> None:
        # In ready(): both import the models. Registers run_delivery with the Celery app in every process (web included): publishers
        # look it up by name (eventbus/queues.py), and Celery's autodiscovery only runs in workers.
        from eventbus import (
            signals,  # noqa: F401  (connects the one post_save receiver)
            tasks,  # noqa: F401
        )

        # The catalogue: every installed app's `events` module. Every app is imported before any
        # ready() runs, so this does not depend on where an app sits in INSTALLED_APPS, and the
        # catalogue is only read later (requests, tasks), never while apps are loading.
        autodiscover_modules("events")
