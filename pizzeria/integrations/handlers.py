from __future__ import annotations

from pizzeria.eventbus.events import DomainEvent, event_types
from pizzeria.eventbus.registry import HandlerSpec, register_handler
from pizzeria.integrations.webhooks import webhooks_send


def _send(event: DomainEvent) -> None:
    webhooks_send(event=event)


def register_webhook_handlers() -> None:
    """One handler per public event type, named integrations.webhooks.<EventClass>."""
    for event_class in event_types().values():
        if not event_class.public:
            continue
        register_handler(
            HandlerSpec(
                name=f"integrations.webhooks.{event_class.__name__}",
                event_type=event_class.type,
                func=_send,
                queue="integrations",
            )
        )
