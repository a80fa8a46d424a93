"""The event bus: domain events stored in a transactional outbox and delivered per handler.

Public API for apps:
    from eventbus import DomainEvent, AggregateRoot, event_handler
    from eventbus import TransientError, PermanentError
"""

from eventbus.errors import PermanentError, TransientError
from eventbus.events import DomainEvent
from eventbus.registry import event_handler

__all__ = ["DomainEvent", "PermanentError", "TransientError", "event_handler", "AggregateRoot"]


def __getattr__(name: str) -> type:
    # AggregateRoot is a model mixin: importing it needs the app registry, so load it lazily.
    if name == "AggregateRoot":
        from eventbus.aggregate import AggregateRoot

        return AggregateRoot
    raise AttributeError(name)
