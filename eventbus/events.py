"""Domain events: frozen dataclasses with a CloudEvents type, serialised losslessly to JSON.

Each concrete event declares `type` (e.g. "com.mariopizzeria.order.placed") and its own fields;
the envelope (event_id, occurred_at, aggregate_*) lives here. Payloads hold plain values and
nested dataclasses, never ORM objects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
import uuid
from decimal import Decimal
from typing import Any, ClassVar

from django.utils import timezone

from eventbus.schema import ENVELOPE_FIELDS, _type_hints, payload_validate

_EVENT_TYPES: dict[str, type[DomainEvent]] = {}


@dataclasses.dataclass(frozen=True, kw_only=True)
class DomainEvent:
    type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    # Public events leave the system (webhook subscribers); opt-in: internal unless declared.
    public: ClassVar[bool] = False
    # Fields holding a customer's contact data (phone, e-mail, address, free text): sent only to
    # subscriptions allowed to receive that field, left out for everyone else.
    contact_fields: ClassVar[tuple[str, ...]] = ()
    # Fields that never leave the system, even in a public event (e.g. staff usernames).
    internal_fields: ClassVar[tuple[str, ...]] = ()
    # One line per field for the published catalogue (AsyncAPI, /api/events/).
    field_docs: ClassVar[dict[str, str]] = {}

    event_id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)
    occurred_at: dt.datetime = dataclasses.field(default_factory=timezone.now)
    aggregate_type: str = ""
    aggregate_id: str = ""
    aggregate_version: int = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type")
        if event_type:
            if event_type in _EVENT_TYPES and _EVENT_TYPES[event_type].__qualname__ != cls.__qualname__:
                raise TypeError(f"Event type {event_type!r} is declared twice")
            _EVENT_TYPES[event_type] = cls

    @property
    def name(self) -> str:
        return type(self).__name__

    def data(self) -> dict[str, Any]:
        """The event's own fields (without the envelope) as JSON-ready values."""
        return {
            f.name: to_json(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in ENVELOPE_FIELDS
        }

    def to_json(self) -> dict[str, Any]:
        return {f.name: to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> DomainEvent:
        """Read a stored payload back; InvalidEventPayload (permanent) if it breaks the schema."""
        if cls.type:
            payload_validate(cls, payload)
        hints = _type_hints(cls)  # type: ignore[arg-type]  # a class is hashable; the stubs' Hashable check trips on eq dataclasses
        kwargs = {
            f.name: from_json(hints[f.name], payload[f.name])
            for f in dataclasses.fields(cls)
            if f.name in payload
        }
        return cls(**kwargs)


def event_class(event_type: str) -> type[DomainEvent]:
    try:
        return _EVENT_TYPES[event_type]
    except KeyError:
        raise LookupError(f"Unknown event type {event_type!r}") from None


def event_types() -> dict[str, type[DomainEvent]]:
    return dict(_EVENT_TYPES)


def to_json(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            raise ValueError("Event datetimes must be timezone-aware")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    raise TypeError(f"Cannot put {type(value).__name__} in an event payload")


def from_json(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return from_json(args[0], value)
    if origin in (list, tuple):
        (item_hint, *_) = typing.get_args(hint) or (Any,)
        items = [from_json(item_hint, v) for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        return dict(value)
    if hint is Decimal:
        return Decimal(value)
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if hint is dt.date:
        return dt.date.fromisoformat(value)
    if hint is dt.timedelta:
        return dt.timedelta(seconds=value)
    if hint is uuid.UUID:
        return uuid.UUID(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        nested = _type_hints(hint)
        return hint(**{k: from_json(nested[k], v) for k, v in value.items() if k in nested})
    return value
