"""Domain events as CloudEvents 1.0 (structured JSON mode) for external subscribers."""

from __future__ import annotations

from cloudevents.core.bindings.http import HTTPMessage, to_structured_event
from cloudevents.core.v1.event import CloudEvent

from pizzeria.eventbus.events import DomainEvent

SOURCE_PREFIX = "mario-pizzeria"


def to_cloudevent(event: DomainEvent) -> CloudEvent:
    return CloudEvent(
        attributes={
            "id": str(event.event_id),
            "source": f"{SOURCE_PREFIX}/{event.aggregate_type}s",
            "type": event.type,
            "subject": f"{event.aggregate_type}/{event.aggregate_id}",
            "time": event.occurred_at,
            "datacontenttype": "application/json",
            "schemaversion": str(event.schema_version),
            "aggregateversion": str(event.aggregate_version),
        },
        data=event.data(),
    )


def to_structured_http(event: DomainEvent) -> HTTPMessage:
    """Headers and body of a structured-mode HTTP request (application/cloudevents+json)."""
    return to_structured_event(to_cloudevent(event))
