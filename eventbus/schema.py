"""JSON Schemas of the event payloads, generated from the event dataclasses, and their enforcement.

The schema describes the bus's own JSON encoding (events.to_json: Decimal as a string, timedelta
as seconds, aware datetimes as ISO 8601), which no general dataclass-to-schema library produces,
hence this small generator. Payloads are validated when recorded (outbox_write: the change is
refused) and when consumed (DomainEvent.from_json: the delivery is dead at once, with the reason).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import types
import typing
import uuid
from decimal import Decimal
from typing import Any

import jsonschema_rs

from eventbus.errors import PermanentError

# An event class below is a DomainEvent subclass (eventbus/events.py), typed `type[Any]`: events.py
# validates through this module, so naming it here, even for the type checker, would be a circle.
# Here rather than in events.py, which validates through this module: one direction, no circle.
ENVELOPE_FIELDS = ("event_id", "occurred_at", "aggregate_type", "aggregate_id", "aggregate_version")

DIALECT = "https://json-schema.org/draft/2020-12/schema"
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


class InvalidEventPayload(PermanentError, ValueError):
    """A payload does not match its event type's schema (a bug where it was built)."""


def type_schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of one annotated type, as events.to_json encodes it."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        options = [type_schema(a) for a in args if a is not type(None)]
        schema = options[0] if len(options) == 1 else {"anyOf": options}
        return {"anyOf": [schema, {"type": "null"}]} if type(None) in args else schema
    if origin in (list, tuple):
        (item, *_) = typing.get_args(hint) or (Any,)
        return {"type": "array", "items": type_schema(item)}
    if origin is dict or hint is dict:
        return {"type": "object"}
    if hint is Any:
        return {}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return dataclass_schema(hint)
    simple = {
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
        Decimal: {"type": "string", "pattern": DECIMAL_PATTERN, "description": "decimal number as a string"},
        dt.datetime: {"type": "string", "format": "date-time"},
        dt.date: {"type": "string", "format": "date"},
        dt.timedelta: {"type": "number", "description": "duration in seconds"},
        uuid.UUID: {"type": "string", "format": "uuid"},
    }
    try:
        return dict(simple[hint])
    except (KeyError, TypeError):
        raise TypeError(f"No JSON Schema for {hint!r}") from None


def dataclass_schema(cls: type, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object schema: every field a property, fields without a default required, no extras."""
    hints = _type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in dataclasses.fields(cls):
        if field.name in exclude:
            continue
        properties[field.name] = type_schema(hints[field.name])
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            required.append(field.name)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def payload_schema(cls: type[Any]) -> dict[str, Any]:
    """The schema of a stored payload (envelope + data), as the outbox keeps it."""
    # Envelope fields have defaults, so (like from_json) a payload may lack them.
    return {"$schema": DIALECT, "title": cls.__name__, **dataclass_schema(cls)}


def data_schema(cls: type[Any]) -> dict[str, Any]:
    """The schema of the event's own fields (DomainEvent.data(): no envelope)."""
    return {"title": cls.__name__, **dataclass_schema(cls, exclude=ENVELOPE_FIELDS)}


def validator_for(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    # jsonschema-rs (Rust): ~5 µs for an OrderPlaced payload where the pure-Python jsonschema takes
    # ~700 µs, and every event is validated twice (recorded, consumed). Formats are checked
    # ("date-time" needs an offset, as to_json writes it; "uuid"; "date").
    return jsonschema_rs.validator_for(schema, validate_formats=True)


@functools.cache
def _validator(cls: type[Any]) -> jsonschema_rs.Validator:
    return validator_for(payload_schema(cls))


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    # get_type_hints re-evaluates every string annotation on each call (~0.5 ms for OrderPlaced);
    # classes do not change at run time, so once per class is enough.
    return typing.get_type_hints(cls)


def schema_errors(validator: jsonschema_rs.Validator, instance: Any, *, most: int = 5) -> str | None:
    """The errors as "at <path>: <message>; …" (at most `most`), or None when the instance is valid."""
    if validator.is_valid(instance):
        return None
    problems = []
    for error in validator.iter_errors(instance):
        where = "/".join(str(p) for p in error.instance_path) or "(top level)"
        problems.append(f"at {where}: {error.message}")
        if len(problems) == most:
            break
    return "; ".join(problems)


def payload_validate(cls: type[Any], payload: dict[str, Any]) -> None:
    """Raise InvalidEventPayload (a PermanentError) with the first problem found."""
    # A class is hashable; the stubs' Hashable check trips on eq dataclasses (see events.from_json).
    problem = schema_errors(_validator(cls), payload)  # type: ignore[arg-type]
    if problem is not None:
        raise InvalidEventPayload(f"Payload of {cls.type} does not match its schema {problem}")
