from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """External systems: public events out as signed CloudEvents (one delivery per subscription),
    payment CloudEvents in at /cloudevents/, and the event catalogue as AsyncAPI.

    Installed last, so every app's events module is imported before the catalogue is read.
    """

    name = "pizzeria.integrations"
    label = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from pizzeria.integrations import checks  # noqa: F401  (registers the deploy checks)
        from pizzeria.integrations.handlers import register_webhook_handlers

        autodiscover_modules("events")
        register_webhook_handlers()
