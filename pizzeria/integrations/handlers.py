"""The webhook deliveries: one handler per subscription, as a registry HandlerFamily."""

from __future__ import annotations

from pizzeria.eventbus.registry import register_family
from pizzeria.integrations.webhooks import FAMILY


def register_webhook_handlers() -> None:
    register_family(FAMILY)
