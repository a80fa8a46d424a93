"""Five no-op handlers for OrderPlaced, one per handler queue, instead of every real handler."""

from __future__ import annotations

from eventbus import registry
from eventbus.registry import HandlerSpec
from orders.events import OrderPlaced

QUEUES = ("kitchen", "inventory", "notifications", "analytics", "integrations")


def noop(event) -> None:
    return None


def install_noop_handlers() -> list[str]:
    for spec in registry.all_handlers():
        registry.unregister_handler(spec.name)
    for family in registry.all_families():  # e.g. one webhook delivery per subscription
        registry.unregister_family(family.prefix)
    names = []
    for queue in QUEUES:
        name = f"bench.noop_{queue}"
        registry.register_handler(HandlerSpec(name=name, event_type=OrderPlaced.type, func=noop, queue=queue))
        names.append(name)
    return names
