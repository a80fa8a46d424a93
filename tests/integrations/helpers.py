"""Helpers for the integration tests: subscriptions, one delivery run at a time."""

from __future__ import annotations

from django.utils import timezone

from eventbus.delivery import delivery_run
from eventbus.models import Delivery
from integrations.events import WebhookCircuitOpened, WebhookSubscriptionDeactivated
from integrations.models import WebhookSubscription
from integrations.services import subscription_create
from notifications.events import NotificationResendRequested
from tests.testapp.events import ProbeHappened

# Events that never leave the house (no webhook, not in the AsyncAPI document).
INTERNAL = (NotificationResendRequested, WebhookSubscriptionDeactivated, WebhookCircuitOpened, ProbeHappened)


def subscribe(url: str, **kwargs) -> tuple[WebhookSubscription, str]:
    kwargs.setdefault("name", f"receiver {url}")
    return subscription_create(url=url, **kwargs)


def deliveries_of(sub: WebhookSubscription) -> list[Delivery]:
    return list(Delivery.objects.filter(handler=sub.handler_name).order_by("pk"))


def run_now(delivery: Delivery) -> str:
    """Run one delivery as a worker would, with its retry (or postponement) made due now."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    return delivery_run(delivery.pk, worker="test")


def reload(obj):
    obj.refresh_from_db()
    return obj
