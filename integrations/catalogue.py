"""The public event catalogue: which events leave the system and in what shape.

An event class opts in with `public = True`. What a subscriber receives is its data minus the
class's `internal_fields`, and minus every `contact_fields` entry the subscription is not allowed
(WebhookSubscription.contact_fields). The published schema of each type says exactly that:
contact fields are optional there, internal ones absent.
"""

from __future__ import annotations

import copy
from typing import Any

from eventbus.events import DomainEvent, event_types
from eventbus.schema import data_schema


def public_event_classes() -> list[type[DomainEvent]]:
    return sorted((cls for cls in event_types().values() if cls.public), key=lambda cls: cls.type)


def public_event_types() -> list[str]:
    return [cls.type for cls in public_event_classes()]


def contact_field_names() -> list[str]:
    return sorted({name for cls in public_event_classes() for name in cls.contact_fields})


def public_data(event: DomainEvent, *, contact_fields: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The event's data as this subscriber may receive it."""
    cls = type(event)
    hidden = set(cls.internal_fields) | (set(cls.contact_fields) - set(contact_fields))
    return {name: value for name, value in event.data().items() if name not in hidden}


def public_data_schema(cls: type[DomainEvent]) -> dict[str, Any]:
    """The JSON Schema of what subscribers receive as `data` for this type."""
    schema = copy.deepcopy(data_schema(cls))
    for name in cls.internal_fields:
        schema["properties"].pop(name, None)
    schema["required"] = [
        name
        for name in schema["required"]
        if name not in cls.internal_fields and name not in cls.contact_fields
    ]
    for name, prop in schema["properties"].items():
        doc = cls.field_docs.get(name)
        if doc:
            prop["description"] = doc
        if name in cls.contact_fields:
            prop["x-contact-data"] = True
    doc = (cls.__doc__ or "").strip()
    if doc and not doc.startswith(cls.__name__ + "("):  # dataclasses invent a signature docstring
        schema["description"] = doc
    return schema
