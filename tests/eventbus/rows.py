"""Bus rows built directly with the ORM, for unit tests that need no aggregate and no broker."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from eventbus.models import Delivery, DeliveryAttempt, OutboxEvent
from tests.testapp.events import ProbeHappened
from tests.testapp.handlers import PROBE_A


def outbox_event(*, behaviour: str = "ok", event_type: str | None = None, **fields) -> OutboxEvent:
    event = ProbeHappened(behaviour=behaviour, aggregate_type="probe", aggregate_id="1", aggregate_version=1)
    values: dict[str, Any] = dict(
        event_id=event.event_id,
        type=event_type or event.type,
        aggregate_type=event.aggregate_type,
        aggregate_id=event.aggregate_id,
        aggregate_version=event.aggregate_version,
        occurred_at=event.occurred_at,
        payload=event.to_json(),
    )
    values.update(fields)
    return OutboxEvent.objects.create(**values)


def delivery(*, event: OutboxEvent | None = None, handler: str = PROBE_A, **fields) -> Delivery:
    values = dict(next_attempt_at=timezone.now(), enqueued_at=timezone.now())
    values.update(fields)
    return Delivery.objects.create(event=event or outbox_event(), handler=handler, **values)


def dead(
    *, handler: str = PROBE_A, attempts: int = 4, error_class: str = "PermanentError", **fields
) -> Delivery:
    """A dead delivery with its failed attempt log."""
    now = timezone.now()
    values: dict[str, Any] = dict(
        status=Delivery.Status.DEAD,
        attempts=attempts,
        finished_at=now,
        enqueued_at=None,
        last_error_class=error_class,
        last_error="it broke",
    )
    values.update(fields)
    d = delivery(handler=handler, **values)
    for number in range(1, attempts + 1):
        DeliveryAttempt.objects.create(
            delivery=d,
            number=number,
            started_at=now - dt.timedelta(seconds=attempts - number),
            duration_ms=1.0,
            outcome=DeliveryAttempt.Outcome.FAILED,
            error_class=error_class,
            error_message="it broke",
            traceback="Traceback (most recent call last):\n  ...\nPermanentError: it broke",
        )
    return d


def ago(seconds: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=seconds)


__all__ = ["outbox_event", "delivery", "dead", "ago"]
