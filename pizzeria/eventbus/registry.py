"""The handler registry: maps event types to handlers, nothing else.

Handlers register with `@event_handler(EventClass, queue=...)` in their app's `handlers.py`,
imported from `AppConfig.ready()`. The stable name stored on each delivery is
"<module>.<function>" unless `name=` is given; renaming a function therefore needs `name=` to
keep old deliveries runnable.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar

from pizzeria.celery import QUEUES
from pizzeria.eventbus.events import DomainEvent


class RegistryError(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class HandlerSpec:
    name: str
    event_type: str
    func: Callable[[DomainEvent], None]
    queue: str
    max_attempts: int | None = None  # None: settings.EVENTBUS_MAX_ATTEMPTS
    backoff: tuple[float, float] | None = None  # (base, cap) seconds; None: settings
    soft_time_limit: float | None = None
    time_limit: float | None = None


_handlers: dict[str, HandlerSpec] = {}
_by_event: dict[str, list[HandlerSpec]] = defaultdict(list)

F = TypeVar("F", bound=Callable[..., None])


def event_handler(
    event_class: type[DomainEvent],
    *,
    queue: str,
    name: str | None = None,
    max_attempts: int | None = None,
    backoff: tuple[float, float] | None = None,
    soft_time_limit: float | None = None,
    time_limit: float | None = None,
) -> Callable[[F], F]:
    def register(func: F) -> F:
        spec = HandlerSpec(
            name=name or f"{func.__module__}.{func.__name__}",
            event_type=event_class.type,
            func=func,
            queue=queue,
            max_attempts=max_attempts,
            backoff=backoff,
            soft_time_limit=soft_time_limit,
            time_limit=time_limit,
        )
        register_handler(spec)
        return func

    return register


def register_handler(spec: HandlerSpec) -> None:
    if not spec.event_type:
        raise RegistryError(f"Handler {spec.name} subscribes to an event class without a type")
    if spec.queue not in QUEUES:
        raise RegistryError(f"Handler {spec.name} names unknown queue {spec.queue!r}; known: {QUEUES}")
    existing = _handlers.get(spec.name)
    if existing is not None:
        if existing.func is spec.func or _same_function(existing.func, spec.func):
            return  # the same module imported twice (e.g. by autoreload); not a conflict
        raise RegistryError(f"Two handlers are named {spec.name!r}")
    _handlers[spec.name] = spec
    _by_event[spec.event_type].append(spec)


def unregister_handler(name: str) -> None:
    spec = _handlers.pop(name)
    _by_event[spec.event_type].remove(spec)


def _same_function(a: Callable, b: Callable) -> bool:
    return getattr(a, "__code__", None) is not None and (
        a.__module__, a.__qualname__, a.__code__.co_filename, a.__code__.co_firstlineno
    ) == (b.__module__, b.__qualname__, b.__code__.co_filename, b.__code__.co_firstlineno)


def handlers_for(event_type: str) -> list[HandlerSpec]:
    return list(_by_event.get(event_type, ()))


def handler(name: str) -> HandlerSpec:
    try:
        return _handlers[name]
    except KeyError:
        raise LookupError(f"No handler named {name!r} is registered") from None


def all_handlers() -> list[HandlerSpec]:
    return list(_handlers.values())
