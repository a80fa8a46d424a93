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

from eventbus.events import DomainEvent
from pizzeria.queues import QUEUES


class RegistryError(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class HandlerSpec:
    name: str
    event_type: str
    func: Callable[[DomainEvent], object]  # may return a dict saying what it did (logged)
    queue: str
    max_attempts: int | None = None  # None: settings.EVENTBUS_MAX_ATTEMPTS
    backoff: tuple[float, float] | None = None  # (base, cap) seconds; None: settings
    soft_time_limit: float | None = None
    time_limit: float | None = None
    # Called as on_failure(exc, delivery_id=..., status=...) in the transaction that records a
    # failed attempt (the handler's own writes are rolled back by then).
    on_failure: Callable[..., None] | None = None


@dataclasses.dataclass(frozen=True)
class HandlerFamily:
    """Handlers that are data, not code: e.g. one per webhook subscription.

    `members(event_types)` returns, per event type, the names of the members that want it now
    (it may query the database: it runs in the transaction that records the events); `resolve`
    turns a member name (it starts with `prefix`) into its spec, without the database.
    """

    prefix: str
    members: Callable[[set[str]], dict[str, list[str]]]
    resolve: Callable[[str], HandlerSpec]


_families: dict[str, HandlerFamily] = {}
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
        a.__module__,
        a.__qualname__,
        a.__code__.co_filename,
        a.__code__.co_firstlineno,
    ) == (b.__module__, b.__qualname__, b.__code__.co_filename, b.__code__.co_firstlineno)


def handlers_for(event_type: str) -> list[HandlerSpec]:
    return list(_by_event.get(event_type, ()))


def register_family(family: HandlerFamily) -> None:
    _families[family.prefix] = family


def unregister_family(prefix: str) -> None:
    _families.pop(prefix)


def all_families() -> list[HandlerFamily]:
    return list(_families.values())


def family_members_for(event_types: set[str]) -> dict[str, list[str]]:
    """Names of the family members that want each of these event types (see HandlerFamily)."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for family in _families.values():
        for event_type, names in family.members(event_types).items():
            wanted[event_type].extend(names)
    return wanted


def handler(name: str) -> HandlerSpec:
    try:
        return _handlers[name]
    except KeyError:
        pass
    for prefix, family in _families.items():
        if name.startswith(prefix):
            return family.resolve(name)
    raise LookupError(f"No handler named {name!r} is registered")


def queue_of(name: str) -> str:
    """The handler's queue; "events" for a name no longer registered (counted there)."""
    try:
        return handler(name).queue
    except LookupError:
        return "events"


def find(name: str) -> HandlerSpec | None:
    """The handler, or None when it is no longer registered (callers then use the defaults)."""
    try:
        return handler(name)
    except LookupError:
        return None


def all_handlers() -> list[HandlerSpec]:
    return list(_handlers.values())
