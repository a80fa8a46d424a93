from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """External subscribers: every public domain event is POSTed to webhooks as a CloudEvent.

    Installed last, so every app's events module is imported when the handlers are registered.
    """

    name = "pizzeria.integrations"
    label = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from pizzeria.integrations.handlers import register_webhook_handlers

        autodiscover_modules("events")
        register_webhook_handlers()
