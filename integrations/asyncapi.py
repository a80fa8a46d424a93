"""The event catalogue as an AsyncAPI 3.0 document, generated from the event classes.

One channel, message and `send` operation per public event type (payload: the structured-mode
CloudEvent whose `data` is the type's published schema; headers: the Standard Webhooks ones),
and one `receive` operation for the CloudEvents we accept at /cloudevents/.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from django.conf import settings

from eventbus.cloudevents import SOURCE_PREFIX
from eventbus.events import DomainEvent
from integrations.catalogue import public_data_schema, public_event_classes
from integrations.inbound import INBOUND_SCHEMAS

VERSION = "1.0.0"

SIGNATURE_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": (
        "Standard Webhooks (https://www.standardwebhooks.com). Verify before trusting the body: "
        "HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<raw body>` with the subscription's "
        "`whsec_` secret (base64 after the prefix), compare in constant time with any `v1,` entry "
        "of webhook-signature, and reject timestamps more than 5 minutes from your clock (replays)."
    ),
    "properties": {
        "webhook-id": {
            "type": "string",
            "description": "The event id (the same on every retry): deduplicate on it.",
        },
        "webhook-timestamp": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "Unix seconds of this attempt.",
        },
        "webhook-signature": {
            "type": "string",
            "description": "Space-separated `v1,<base64 HMAC-SHA256>`; two during a secret rotation.",
        },
        "content-type": {
            "type": "string",
            "description": "application/cloudevents+json (structured mode) or application/json (binary mode).",
        },
    },
    "required": ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type"],
}

BINARY_MODE_NOTE = (
    "Subscriptions in binary mode receive the same event with its attributes as `ce-*` headers "
    "(ce-id, ce-source, ce-type, ce-specversion, ce-subject, ce-time, ce-schemaversion, "
    "ce-aggregateversion) and only `data` as the application/json body."
)


def _key(event_type: str) -> str:
    """A component key from a CloudEvents type: com.mariopizzeria.order.placed → order.placed."""
    short = event_type.removeprefix("com.mariopizzeria.")
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", short)


def envelope_schema(event_type: str, data_schema: dict[str, Any], *, source: str) -> dict[str, Any]:
    """A structured-mode CloudEvent 1.0 whose data follows data_schema."""
    return {
        "type": "object",
        "properties": {
            "specversion": {"type": "string", "const": "1.0"},
            "id": {"type": "string", "description": "Unique per source; the same on every retry."},
            "source": {"type": "string", "description": source},
            "type": {"type": "string", "const": event_type},
            "subject": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "schemaversion": {"type": "string"},
            "aggregateversion": {"type": "string"},
            "data": data_schema,
        },
        "required": ["specversion", "id", "source", "type", "data"],
    }


def _message(cls: type[DomainEvent]) -> dict[str, Any]:
    key = _key(cls.type)
    doc = (cls.__doc__ or "").strip()
    summary = doc if doc and not doc.startswith(cls.__name__ + "(") else f"{cls.__name__} ({cls.type})"
    description = (
        f"CloudEvents type `{cls.type}`, schema version {cls.schema_version}. "
        + (
            f"Contact fields, sent only to subscriptions allowed them: {', '.join(cls.contact_fields)}. "
            if cls.contact_fields
            else ""
        )
        + BINARY_MODE_NOTE
    )
    return {
        "name": cls.__name__,
        "title": cls.__name__,
        "summary": summary.splitlines()[0],
        "description": description,
        "contentType": "application/cloudevents+json",
        "headers": {"$ref": "#/components/schemas/StandardWebhooksHeaders"},
        "payload": {"$ref": f"#/components/schemas/{key}.envelope"},
        "x-cloudevents-type": cls.type,
        "x-schema-version": cls.schema_version,
    }


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"StandardWebhooksHeaders": copy.deepcopy(SIGNATURE_HEADERS)}
    for cls in public_event_classes():
        key = _key(cls.type)
        schemas[f"{key}.data"] = public_data_schema(cls)
        schemas[f"{key}.envelope"] = envelope_schema(
            cls.type,
            {"$ref": f"#/components/schemas/{key}.data"},
            source=f"{SOURCE_PREFIX}/<aggregate type>s, e.g. {SOURCE_PREFIX}/{cls.type.split('.')[-2]}s",
        )
        messages[key] = _message(cls)
        channels[key] = {
            "address": None,  # each subscription's own URL
            "title": cls.__name__,
            "description": f"POSTed to every active subscription that wants `{cls.type}`.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"send.{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"Deliver {cls.__name__} to subscribers (at least once, signed).",
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
    inbound_messages = {}
    for event_type, schema in INBOUND_SCHEMAS.items():
        key = "inbound." + _key(event_type)
        schemas[f"{key}.data"] = copy.deepcopy(schema)
        schemas[f"{key}.envelope"] = envelope_schema(
            event_type,
            {"$ref": f"#/components/schemas/{key}.data"},
            source="The sender's URI (e.g. the provider's).",
        )
        messages[key] = {
            "name": key,
            "title": schema.get("title", event_type),
            "summary": schema.get("description", event_type),
            "description": (
                f"CloudEvents type `{event_type}`, structured or binary mode, signed with Standard Webhooks "
                "using the inbound secret. Idempotent on (source, id)."
            ),
            "contentType": "application/cloudevents+json",
            "headers": {"$ref": "#/components/schemas/StandardWebhooksHeaders"},
            "payload": {"$ref": f"#/components/schemas/{key}.envelope"},
            "x-cloudevents-type": event_type,
        }
        inbound_messages[key] = {"$ref": f"#/components/messages/{key}"}
    channels["cloudevents"] = {
        "address": "/cloudevents/",
        "title": "CloudEvents in",
        "description": "Responses: 200 processed (or a duplicate), 400 malformed/unknown type, 401 bad signature, "
        "409 id reused or order not payable, 422 amount mismatch or unknown order.",
        "messages": inbound_messages,
        "servers": [{"$ref": "#/servers/pizzeria"}],
    }
    operations["receive.cloudevents"] = {
        "action": "receive",
        "channel": {"$ref": "#/channels/cloudevents"},
        "summary": "Accept CloudEvents from partners (payments).",
        "messages": [{"$ref": f"#/channels/cloudevents/messages/{k}"} for k in inbound_messages],
    }
    base = settings.PUBLIC_BASE_URL or "http://127.0.0.1:8000"
    scheme, _, host = base.partition("://")
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Mario's Pizzeria events",
            "version": VERSION,
            "description": (
                "Public domain events, POSTed as CloudEvents 1.0 over HTTP to webhook subscriptions "
                "(one delivery per event and subscription, retried with backoff, at least once: "
                "deduplicate on the CloudEvent id), and the CloudEvents the pizzeria accepts. "
                "Internal events never leave the system."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "pizzeria": {
                "host": host.rstrip("/") or "127.0.0.1:8000",
                "protocol": scheme or "http",
                "description": "Where /cloudevents/ is served.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
