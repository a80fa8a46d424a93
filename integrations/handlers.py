"""The integrations' handlers: the webhook deliveries (one handler per subscription, as a registry
HandlerFamily), and the e-mails that tell the manager a receiver is in trouble.

The e-mails go through the notifications app (integrations sit above it; notifications knows
nothing of integrations). They run on the notifications queue and keep the names they had when they
lived in notifications/handlers.py, so deliveries stored under those names still run.
"""

from __future__ import annotations

from eventbus.registry import event_handler, register_family
from integrations.events import WebhookCircuitOpened, WebhookSubscriptionDeactivated
from integrations.webhooks import FAMILY
from notifications import recipients
from notifications.services import EMAIL, notification_send


def register_webhook_handlers() -> None:
    register_family(FAMILY)


@event_handler(
    WebhookSubscriptionDeactivated,
    queue="notifications",
    name="notifications.handlers.email_webhook_deactivated",
)
def email_webhook_deactivated(event: WebhookSubscriptionDeactivated) -> None:
    """Tell the manager a webhook receiver stopped getting events (410 Gone or staff)."""
    context = {
        "name": event.subscription_name,
        "url": event.url,
        "reason": event.reason,
        "deactivated_by": event.deactivated_by,
    }
    notification_send(
        event=event,
        channel=EMAIL,
        template="webhook_deactivated",
        recipient=recipients.manager_email(),
        context=context,
    )


@event_handler(
    WebhookCircuitOpened, queue="notifications", name="notifications.handlers.email_webhook_circuit_opened"
)
def email_webhook_circuit_opened(event: WebhookCircuitOpened) -> None:
    """Tell the manager a webhook receiver keeps failing and its deliveries are paused."""
    context = {
        "name": event.subscription_name,
        "url": event.url,
        "consecutive_failures": event.consecutive_failures,
        "last_error": event.last_error,
        "retry_at": event.retry_at,
    }
    notification_send(
        event=event,
        channel=EMAIL,
        template="webhook_circuit_opened",
        recipient=recipients.manager_email(),
        context=context,
    )
