"""Writing events to the outbox and ringing the broker once they are committed."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from typing import Any, NamedTuple

from amqp import exceptions as amqp_exceptions
from django.db import connections, transaction
from kombu.exceptions import OperationalError as KombuOperationalError
from redis import exceptions as redis_exceptions

from eventbus import registry, spans, wire
from eventbus.celeryapp import celery_app
from eventbus.events import DomainEvent
from eventbus.models import Delivery, OutboxEvent
from eventbus.queues import RUN_DELIVERY
from eventbus.schema import payload_validate
from pizzeria import redisbreaker
from pizzeria.observability import context as log_context
from pizzeria.observability import counters

logger = logging.getLogger(__name__)


class DeliveryRef(NamedTuple):
    """A delivery just written: what publishing it needs."""

    pk: int
    handler: str


def outbox_write(events: Sequence[DomainEvent], *, using: str = "default") -> list[DeliveryRef]:
    """Store events and one pending delivery per subscribed handler; publish after commit.

    Must run inside the transaction that made the change (the post_save receiver does).
    """
    payloads = [e.to_json() for e in events]
    for event, payload in zip(events, payloads, strict=True):
        # A payload that breaks its schema is a bug in the code recording it: refuse it here
        # (the whole change rolls back) rather than hand subscribers something they can't read.
        payload_validate(type(event), payload)
    # Under tracing, the transaction's context is stored with each event (eventbus/spans.py).
    with spans.outbox_write(events) as trace_context:
        OutboxEvent.objects.using(using).bulk_create(
            [
                OutboxEvent(
                    event_id=e.event_id,
                    type=e.type,
                    schema_version=e.schema_version,
                    aggregate_type=e.aggregate_type,
                    aggregate_id=e.aggregate_id,
                    aggregate_version=e.aggregate_version,
                    occurred_at=e.occurred_at,
                    payload=payload,
                    traceparent=trace_context[0] if trace_context else None,
                    tracestate=(trace_context[1] or None) if trace_context else None,
                )
                for e, payload in zip(events, payloads, strict=True)
            ]
        )
        # Family members (e.g. webhook subscriptions) active now: a later subscription gets no history.
        members = registry.family_members_for({e.type for e in events})
        deliveries = deliveries_insert(
            [
                (e.event_id, name)
                for e in events
                for name in [*(spec.name for spec in registry.handlers_for(e.type)), *members.get(e.type, ())]
            ],
            using=using,
        )
    for e in events:
        logger.info(
            "%s recorded for %s %s",
            e.type,
            e.aggregate_type,
            e.aggregate_id,
            extra={
                "event_id": str(e.event_id),
                **({"order_id": e.aggregate_id} if e.aggregate_type == "order" else {}),
            },
        )
    publish_on_commit(events, deliveries, using=using, trace_context=trace_context)
    return deliveries


# Set by the database's clock, not this process's (clock.py): due now, and enqueued_at set
# optimistically: the on-commit publish clears it if the broker refuses, which is what the
# sweeper looks for. A crash between commit and publish leaves it set; the sweeper re-sends
# such rows after EVENTBUS_REDISPATCH_AFTER.
_CLOCK_FIELDS = ("next_attempt_at", "enqueued_at", "created_at", "updated_at")


def deliveries_insert(pairs: list[tuple[uuid.UUID, str]], *, using: str) -> list[DeliveryRef]:
    """One pending Delivery per (event_id, handler), every other field at the model's default.

    One INSERT … SELECT FROM unnest(): Django's bulk_create spends ~1 ms of CPU on an
    order's six rows (each field of each object prepared, the clock expressions compiled per row)
    where this statement costs ~0.3 ms; the order request writes it every time (issue 13). The
    columns and defaults come from the model (tests/eventbus/test_outbox.py compares a row written
    here with the model's defaults).
    """
    if not pairs:
        return []
    connection = connections[using]
    sql, constants = _insert_statement(using)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*constants, [e for e, _ in pairs], [h for _, h in pairs]])
        return [DeliveryRef(pk, handler) for pk, handler in cursor.fetchall()]


@functools.cache
def _insert_statement(using: str) -> tuple[str, tuple]:
    """The INSERT and its constant parameters (the model's defaults), built once per database."""
    connection = connections[using]
    meta = Delivery._meta
    columns, values, constant_fields = [], [], []
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(f'"{field.column}"')
        if field.name == "event":
            values.append("t.event_id")
        elif field.name == "handler":
            values.append("t.handler")
        elif field.name in _CLOCK_FIELDS:
            values.append("STATEMENT_TIMESTAMP()")
        else:
            values.append("%s")
            constant_fields.append(field)
    sql = (
        f'INSERT INTO "{meta.db_table}" ({", ".join(columns)}) SELECT {", ".join(values)} '
        f"FROM unnest(%s::uuid[], %s::text[]) AS t(event_id, handler) "
        f'RETURNING "{meta.pk.column}", "{meta.get_field("handler").column}"'
    )
    return sql, tuple(f.get_db_prep_save(f.get_default(), connection) for f in constant_fields)


def publish_on_commit(
    events: Sequence[DomainEvent],
    deliveries: list[DeliveryRef],
    *,
    using: str,
    trace_context: tuple[str, str] | None = None,
) -> None:
    """Ring the broker once the recording transaction commits (nothing if it rolls back).

    The tests' in-memory helper (tests/capture.py) replaces this function for the length of a
    block to run the deliveries itself; production code has no hook here.
    """
    if deliveries:
        items = (
            [(d.pk, d.handler, trace_context) for d in deliveries]
            if trace_context
            else [(d.pk, d.handler) for d in deliveries]
        )
        transaction.on_commit(partial(publish_deliveries, items), using=using)


def queue_for(handler_name: str) -> str:
    spec = registry.find(handler_name)
    return spec.queue if spec is not None else "events"  # the worker there marks it dead, saying why


PUBLISH_BATCH = 500  # deliveries per pipelined round trip (the sweeper re-sends thousands at once)


def publish_deliveries(items: Iterable[tuple], *, countdown: float | None = None) -> int:
    """Send one run_delivery message per (delivery_id, handler[, trace_context]). Never raises.

    trace_context, the (traceparent, tracestate) stored with the delivery's event, rides as
    message headers (eventbus/spans.py); absent when tracing is off.

    Returns how many were sent. On a broker error (BROKER_ERRORS) the rest are marked
    not-enqueued so the sweeper picks them up; the caller (often a web request) goes on. Any other
    error of the fast path is logged at ERROR, counted (eventbus_publish_errors_total) and the
    deliveries go out through apply_async instead.

    On Redis the messages of up to PUBLISH_BATCH deliveries go out in one pipelined round trip
    instead of one LPUSH round trip each (an order's five deliveries cost the request one wait on
    the broker, not five), built without apply_async's bookkeeping (wire.py). A batch that fails
    is all left to the sweeper (kombu cannot say which of its commands ran; a delivery sent twice
    is claimed once). A countdown (a worker's retry) and RabbitMQ (each publish confirmed) go
    through apply_async one by one.
    """
    app = celery_app()
    items = list(items)
    sent = 0
    # Redis as the broker: the process's Redis breaker (pizzeria.redisbreaker) is open after a
    # timeout on that server (a throttle's or an earlier publish's): leave these to the sweeper
    # at once instead of waiting on a Redis that just did not answer.
    redis_broker = (
        app.conf.broker_url if str(app.conf.broker_url).startswith(("redis://", "rediss://")) else None
    )
    if redis_broker and redisbreaker.is_open(redis_broker):
        _mark_not_enqueued([item[0] for item in items])
        return 0
    # The web request's id travels with the message, for the worker's log records.
    request_id = log_context.value("request_id")
    headers = {"request_id": request_id} if request_id else None
    try:
        with app.producer_or_acquire() as producer:
            fast = countdown is None and _fast_path_usable(producer, pending=len(items))
            if fast:
                try:
                    for start in range(0, len(items), PUBLISH_BATCH):
                        chunk = items[start : start + PUBLISH_BATCH]
                        wire.send(
                            producer,
                            [
                                (delivery_id, queue_for(name), _task_options(name), *trace)
                                for delivery_id, name, *trace in chunk
                            ],
                            headers=headers,
                        )
                        sent += len(chunk)
                except BROKER_ERRORS:
                    raise
                except Exception as exc:
                    _fast_path_failed(exc, pending=len(items) - sent)
                    fast = False
            if not fast:
                for _ in _apply_async_each(
                    items[sent:], producer=producer, countdown=countdown, headers=headers
                ):
                    sent += 1
    except Exception as exc:
        if redis_broker and redisbreaker.did_not_answer(exc):
            redisbreaker.trip(redis_broker, "publish", exc)
        unsent = [item[0] for item in items[sent:]]
        if isinstance(exc, BROKER_ERRORS):
            logger.warning(
                "Broker unavailable: %s deliveries left to the sweeper (first id %s)",
                len(unsent),
                unsent[0] if unsent else None,
                exc_info=True,
            )
        else:  # not the broker: a bug or an upgrade that broke publishing; the sweeper will meet it too
            logger.error(
                "Publishing failed (%s: %s, not a broker error): %s deliveries left to the sweeper (first id %s)",
                type(exc).__name__,
                exc,
                len(unsent),
                unsent[0] if unsent else None,
                exc_info=True,
            )
            counters.publish_error_recorded(path="apply_async", error=type(exc).__name__)
        _mark_not_enqueued(unsent)
    return sent


# What a broker that is down, unreachable or refusing raises: only these leave deliveries to the
# sweeper. (Not kombu's own Connection.connection_errors: on Redis it lists KeyError and
# DataError, which are as likely to come from a bug here.)
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    KombuOperationalError,
    OSError,  # ConnectionError, TimeoutError, socket errors
    redis_exceptions.ConnectionError,  # BusyLoadingError, AuthenticationError too
    redis_exceptions.TimeoutError,
    redis_exceptions.ResponseError,  # the server refused the command (OOM, READONLY after a failover)
    amqp_exceptions.ConnectionError,
    amqp_exceptions.ChannelError,
)


def _fast_path_usable(producer: Any, *, pending: int) -> bool:
    try:
        return wire.usable(producer)
    except BROKER_ERRORS:
        raise
    except Exception as exc:
        _fast_path_failed(exc, pending=pending)
        return False


def _fast_path_failed(exc: Exception, *, pending: int) -> None:
    """Say why the fast path (wire.py) failed; the caller sends what is left through apply_async
    rather than leave it to the sweeper, which publishes through the same path and would meet the
    same error (issue 22)."""
    logger.error(
        "Fast publish path failed (%s: %s, not a broker error); sending %s deliveries through apply_async",
        type(exc).__name__,
        exc,
        pending,
        exc_info=True,
    )
    counters.publish_error_recorded(path="fast", error=type(exc).__name__)


def _apply_async_each(
    items: list[tuple[Any, ...]], *, producer: Any, countdown: float | None, headers: dict[str, str] | None
) -> Iterator[int]:
    """Publish each delivery with apply_async, yielding its id once sent (the caller counts)."""
    run_delivery = celery_app().tasks[RUN_DELIVERY]
    for delivery_id, handler_name, *trace in items:
        trace_headers = spans.message_headers(trace[0]) if trace else None
        message_headers = {**(headers or {}), **trace_headers} if trace_headers else headers
        # Only what is set: Celery treats an absent option as None (the stubs don't take None).
        options = _task_options(handler_name)
        if countdown is not None:
            options["countdown"] = countdown
        if message_headers is not None:
            options["headers"] = message_headers
        run_delivery.apply_async((delivery_id,), queue=queue_for(handler_name), producer=producer, **options)
        yield delivery_id


def _task_options(handler_name: str) -> dict[str, Any]:
    spec = registry.find(handler_name)
    if spec is None:
        return {}
    options: dict[str, Any] = {}
    if spec.soft_time_limit is not None:
        options["soft_time_limit"] = spec.soft_time_limit
    if spec.time_limit is not None:
        options["time_limit"] = spec.time_limit
    return options


def _mark_not_enqueued(delivery_ids: list[int]) -> None:
    if not delivery_ids:
        return
    try:
        Delivery.objects.filter(pk__in=delivery_ids).update(enqueued_at=None)
    except Exception:
        # Even the database is away: the rows keep their optimistic enqueued_at and the sweeper
        # re-sends them after EVENTBUS_REDISPATCH_AFTER.
        logger.exception("Could not mark %s deliveries as not enqueued", len(delivery_ids))
