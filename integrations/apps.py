from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """External systems: public events out as signed CloudEvents (one delivery per subscription),
    payment CloudEvents in at /cloudevents/, and the event catalogue as AsyncAPI.

    Its place in INSTALLED_APPS does not matter: the webhook family is registered explicitly here
    and reads the catalogue (loaded by the event bus app) only when an event is recorded.
    """

    name = "integrations"
    label = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations import checks  # noqa: F401  (registers the deploy checks)
        from integrations.handlers import register_webhook_handlers  # in ready(): registers handlers

        register_webhook_handlers()
