"""The sweeper: nothing stays stranded.

Re-sends deliveries whose message never went out (broker down at commit), went out long ago
without being claimed (lost with a broker restart), or whose retry is now due; and turns running
deliveries with an expired lease (worker killed, machine gone) into a failed "worker lost"
attempt, so a message that kills its worker ends dead after max attempts instead of looping.
Rows are taken with SELECT ... FOR UPDATE SKIP LOCKED, so several sweepers never take the same one.

It also notices a broker that came back without its data (a Redis restart with nothing on disk):
every message that was waiting in it is gone, so every open delivery is re-sent at once instead
of after EVENTBUS_REDISPATCH_AFTER. Times are the database's (clock.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from eventbus import registry, retry
from eventbus.broker import broker_lost_messages
from eventbus.clock import db_now
from eventbus.models import Delivery, DeliveryAttempt
from eventbus.outbox import publish_deliveries
from pizzeria.observability import tracing

logger = logging.getLogger(__name__)

MAX_BATCHES_PER_SWEEP = 20  # bounds one sweep's duration; the next sweep continues


@dataclass
class SweepResult:
    redispatched: int = 0
    leases_expired: int = 0
    broker_reset: bool = False


def sweep(*, batch_size: int | None = None) -> SweepResult:
    batch_size = batch_size or settings.EVENTBUS_SWEEP_BATCH
    result = SweepResult()
    if broker_lost_messages():
        result.broker_reset = True
        forgotten = Delivery.objects.filter(
            status__in=(Delivery.Status.PENDING, Delivery.Status.RETRYING), enqueued_at__isnull=False
        ).update(enqueued_at=None)
        logger.warning("sweep: the broker lost its messages; %s open deliveries to re-send", forgotten)
    for _ in range(MAX_BATCHES_PER_SWEEP):
        expired = _expire_leases(batch_size)
        result.leases_expired += expired
        if expired < batch_size:
            break
    for _ in range(MAX_BATCHES_PER_SWEEP):
        sent = _redispatch(batch_size)
        result.redispatched += sent
        if sent < batch_size:
            break
    if result.redispatched or result.leases_expired:
        logger.info(
            "sweep: %s deliveries re-sent, %s expired leases", result.redispatched, result.leases_expired
        )
    return result


def _redispatch(batch_size: int) -> int:
    now = db_now()
    stale = now - dt.timedelta(seconds=settings.EVENTBUS_REDISPATCH_AFTER)
    # Under tracing each message carries its event's trace context (eventbus/spans.py): read with
    # the rows (only the deliveries are locked).
    fields = (
        ("pk", "handler", "event__traceparent", "event__tracestate")
        if tracing.enabled()
        else ("pk", "handler")
    )
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=(Delivery.Status.PENDING, Delivery.Status.RETRYING), next_attempt_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
            .order_by("next_attempt_at")
            .values_list(*fields)[:batch_size]
        )
        if not rows:
            return 0
        Delivery.objects.filter(pk__in=[row[0] for row in rows]).update(enqueued_at=now)
    if len(fields) > 2:
        rows = [(pk, handler, (tp, ts or "") if tp else None) for pk, handler, tp, ts in rows]
    publish_deliveries(rows)
    return len(rows)


def _expire_leases(batch_size: int) -> int:
    now = db_now()
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.RUNNING, lease_until__lt=now)
            .order_by("lease_until")[:batch_size]
        )
        for delivery in rows:
            _record_lost_attempt(delivery, now)
    return len(rows)


def _record_lost_attempt(delivery: Delivery, now: dt.datetime) -> None:
    message = "Worker lost: lease expired before the attempt finished"
    fields: dict[str, Any] = {"lease_until": None, "last_error_class": "WorkerLost", "last_error": message}
    step = retry.next_step(
        registry.find(delivery.handler), delivery.attempts - delivery.attempts_before_replay, None
    )
    if step.dead:
        fields.update(status=Delivery.Status.DEAD, finished_at=now)
        logger.error("delivery_id=%s handler=%s dead after lost workers", delivery.pk, delivery.handler)
    else:
        fields.update(status=Delivery.Status.RETRYING, next_attempt_at=step.at(now), enqueued_at=None)
        logger.warning("delivery_id=%s handler=%s worker lost; retrying", delivery.pk, delivery.handler)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        started_at=delivery.claimed_at or now,
        duration_ms=((now - delivery.claimed_at).total_seconds() * 1000) if delivery.claimed_at else None,
        outcome=DeliveryAttempt.Outcome.LOST,
        error_class="WorkerLost",
        error_message=message,
        retry_at=fields.get("next_attempt_at"),
    )
    Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(updated_at=now, **fields)
