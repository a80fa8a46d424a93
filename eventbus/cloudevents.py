"""Domain events as CloudEvents 1.0 over HTTP (structured or binary content mode), via the SDK."""

from __future__ import annotations

from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent

from eventbus import spans
from eventbus.events import DomainEvent

SOURCE_PREFIX = "mario-pizzeria"
STRUCTURED = "structured"
BINARY = "binary"
MODES = (STRUCTURED, BINARY)


def to_cloudevent(event: DomainEvent, *, data: dict[str, Any] | None = None) -> CloudEvent:
    """The event as a CloudEvent; `data` replaces event.data() (e.g. a subscriber's projection)."""
    attributes = {
        "id": str(event.event_id),
        "source": f"{SOURCE_PREFIX}/{event.aggregate_type}s",
        "type": event.type,
        "subject": f"{event.aggregate_type}/{event.aggregate_id}",
        "time": event.occurred_at,
        "datacontenttype": "application/json",
        "schemaversion": str(event.schema_version),
        "aggregateversion": str(event.aggregate_version),
    }
    # The Distributed Tracing extension: the context in which the event was recorded (set while
    # a delivery of it runs under tracing, eventbus/spans.py), so a subscriber can join the trace.
    traceparent = spans.event_traceparent()
    if traceparent:
        attributes["traceparent"] = traceparent
    return CloudEvent(attributes=attributes, data=event.data() if data is None else data)


def to_http(event: DomainEvent, *, mode: str = STRUCTURED, data: dict[str, Any] | None = None) -> HTTPMessage:
    """Headers and body of the HTTP request: structured (application/cloudevents+json, the whole
    event in the body) or binary (attributes as ce-* headers, the data alone in the body)."""
    cloudevent = to_cloudevent(event, data=data)
    if mode == BINARY:
        return to_binary_event(cloudevent)
    if mode == STRUCTURED:
        return to_structured_event(cloudevent)
    raise ValueError(f"Unknown CloudEvents HTTP mode {mode!r}; known: {MODES}")


def to_structured_http(event: DomainEvent) -> HTTPMessage:
    """Headers and body of a structured-mode HTTP request (application/cloudevents+json)."""
    return to_http(event, mode=STRUCTURED)
