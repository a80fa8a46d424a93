"""CloudEvents in: POST /cloudevents/ (structured or binary mode), Standard Webhooks signed.

Order of checks, so a stranger learns nothing: size (413) → signature with
CLOUDEVENTS_INBOUND_SECRET (401) → a CloudEvent at all (400) → a type we take (400) → its data
against the type's schema (400) → (source, id) seen before: the same event answers as before,
a different event under a used id is 409 → the business rule (422 amount mismatch or unknown
order, 409 order already paid or cancelled) → 200 processed. Never a 500 for bad input.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from django.db import IntegrityError, transaction

from eventbus import spans
from eventbus.schema import DECIMAL_PATTERN, schema_errors, validator_for
from integrations.models import InboundCloudEvent
from integrations.signing import WebhookVerificationError, signature_verify
from orders.errors import OrderError
from orders.models import Order
from orders.services import order_pay
from pizzeria.security.text import first_problem

logger = logging.getLogger(__name__)

PAYMENT_PROCESSED = "com.mariopizzeria.payment.processed"

# What an external payment provider sends us (published in the AsyncAPI document too).
PAYMENT_PROCESSED_SCHEMA: dict[str, Any] = {
    "title": "PaymentProcessed (inbound)",
    "description": "An external payment provider confirms that an order was paid.",
    "type": "object",
    "properties": {
        # maximum: a bigint; a larger id would overflow the database column (a 500), not just miss.
        "order_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1, "description": "The order's id."},
        "amount": {
            "description": "Amount paid; must equal the order total (string or number, 2 decimal places).",
            "anyOf": [{"type": "string", "pattern": DECIMAL_PATTERN}, {"type": "number"}],
        },
        "method": {
            "type": "string",
            "enum": sorted(Order.PaymentMethod.values),
            "description": "Payment method.",
        },
        "reference": {"type": "string", "maxLength": 255, "description": "The provider's payment reference."},
    },
    "required": ["order_id", "amount", "method", "reference"],
    "additionalProperties": False,
}
INBOUND_SCHEMAS = {PAYMENT_PROCESSED: PAYMENT_PROCESSED_SCHEMA}


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]


class _Refused(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def _error(status: int, error: str, reason: str) -> Outcome:
    return Outcome(status, {"error": error, "reason": reason})


def cloudevent_receive(*, body: bytes, headers: dict[str, str], secret: str) -> Outcome:
    """Verify, parse, deduplicate and process one inbound CloudEvent; never raises for bad input."""
    headers = {k.lower(): v for k, v in headers.items()}
    try:
        signature_verify(secret=secret, body=body, headers=headers)
    except WebhookVerificationError as exc:
        return _error(401, "invalid_signature", f"Standard Webhooks signature check failed: {exc}")
    try:
        event = from_http_event(HTTPMessage(headers=headers, body=body))
    except Exception as exc:  # the SDK raises many kinds for malformed input
        return _error(400, "malformed_cloudevent", f"Not a CloudEvent 1.0 (structured or binary): {exc}")
    event_type, source, event_id = event.get_type(), event.get_source(), event.get_id()
    if len(source) > 500 or len(event_id) > 200:
        return _error(400, "malformed_cloudevent", "source is limited to 500 characters and id to 200")
    # Both are stored and queried as text: NUL or a lone surrogate would be a database error (500).
    problem = first_problem([("source", source), ("id", event_id)])
    if problem is not None:
        return _error(400, "malformed_cloudevent", f"The attribute {problem}")
    schema = INBOUND_SCHEMAS.get(event_type)
    if schema is None:
        return _error(
            400,
            "unknown_type",
            f"Type {event_type!r} is not accepted here; accepted: {sorted(INBOUND_SCHEMAS)}",
        )
    data = event.get_data()
    if isinstance(data, bytes):
        try:
            data = json.loads(data)
        except ValueError:
            return _error(400, "invalid_data", "The data is not JSON")
    elif isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            pass  # a JSON string value: the schema check below says it is not an object
    # Before the schema: the validator cannot even read a lone surrogate, the database no NUL.
    if isinstance(data, dict):
        problem = first_problem((str(k), v if isinstance(v, str) else "") for k, v in data.items())
        if problem is not None:
            return _error(400, "invalid_data", f"The data's field {problem}")
    problem = schema_errors(validator_for(schema), data)
    if problem is not None:
        return _error(400, "invalid_data", f"The data does not match the {event_type} schema {problem}")
    payment = cast(dict[str, Any], data)  # the schema above requires an object
    fingerprint = hashlib.sha256(json.dumps([event_type, data], sort_keys=True).encode()).hexdigest()
    seen = InboundCloudEvent.objects.filter(source=source, event_id=event_id).first()
    if seen is not None:
        return _duplicate(seen, fingerprint)
    # Distributed Tracing extension: the sender's context becomes the parent of what this event
    # starts (the payment, its events and their deliveries), linked to this HTTP request's span.
    traceparent = event.get_extension("traceparent")
    with spans.remote_parent(
        f"cloudevent receive {event_type}",
        traceparent if isinstance(traceparent, str) else None,
        _string_or_none(event.get_extension("tracestate")),
        **{"cloudevents.event_id": event_id, "cloudevents.event_source": source},
    ):
        return _process(event_type, source, event_id, payment, fingerprint)


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _process(
    event_type: str, source: str, event_id: str, payment: dict[str, Any], fingerprint: str
) -> Outcome:
    try:
        with transaction.atomic():
            # Claim (source, id) first: a concurrent copy of this event waits on the unique index
            # until this one commits, then answers as a duplicate instead of "already paid".
            seen = InboundCloudEvent.objects.create(
                source=source,
                event_id=event_id,
                type=event_type,
                body_sha256=fingerprint,
                order_id=payment["order_id"],
            )
            outcome = _payment_processed(payment, source=source)
            if outcome.status != 200:
                raise _Refused(outcome)  # roll the claim back: a corrected retry may use the id
            seen.result = outcome.body
            seen.save(update_fields=["result"])
    except _Refused as refused:
        outcome = refused.outcome
    except IntegrityError:  # the same id came in through another request, which won
        winner = InboundCloudEvent.objects.filter(source=source, event_id=event_id).first()
        if winner is None:
            raise
        logger.info(
            "cloudevent source=%s id=%s arrived twice at once; answered as a duplicate", source, event_id
        )
        return _duplicate(winner, fingerprint)
    logger.info("cloudevent source=%s id=%s type=%s -> %s", source, event_id, event_type, outcome.status)
    return outcome


def _duplicate(seen: InboundCloudEvent, fingerprint: str) -> Outcome:
    if seen.body_sha256 != fingerprint:
        return _error(
            409,
            "id_reused",
            f"Event id {seen.event_id!r} from {seen.source!r} was already used for a different event",
        )
    return Outcome(200, {**seen.result, "duplicate": True})


def _payment_processed(data: dict[str, Any], *, source: str) -> Outcome:
    order = Order.objects.filter(pk=data["order_id"]).first()
    if order is None:
        return _error(422, "unknown_order", f"Order {data['order_id']} does not exist")
    try:
        amount = Decimal(str(data["amount"]))
    except InvalidOperation:
        return _error(400, "invalid_data", f"amount {data['amount']!r} is not a number")
    if amount != order.total_amount:
        return _error(
            422,
            "amount_mismatch",
            f"Amount {amount} does not match order {order.pk}'s total {order.total_amount}",
        )
    try:
        order = order_pay(
            order_id=order.pk,
            method=data["method"],
            reference=data["reference"],
            actor=f"cloudevents:{source}"[:150],
        )
    except OrderError as exc:
        return _error(409, "conflict", str(exc))
    return Outcome(200, {"status": "processed", "order_id": order.pk, "payment_status": order.payment_status})
