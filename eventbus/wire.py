"""run_delivery messages put on Redis without apply_async: the order request's publish, made cheap.

Why: `apply_async` costs ~0.28 ms of CPU per message (Celery's send_task re-resolves the task's
options and route, merges retry policies, fires publish signals; kombu's Producer.publish looks
up its serializer and declares the queue again), and an order request publishes one message per
handler (five). Measured in-process, an order's five messages: 1.4–2.0 ms of CPU through
apply_async (pipelined or not), 0.5 ms here; in the API phase of `make bench` the order endpoint
went from 0.66 to 0.86 of its bus-off throughput in the same run (issue 13, bench/README.md).

What is skipped is bookkeeping, not the format: the task message is built by Celery's own
protocol builder (`app.amqp.create_task_message`, protocol 2, as apply_async builds it), its body
serialized by kombu's serializer registry, and the transport envelope made and pushed by kombu's
Redis channel (`prepare_message`, a `create_publish_batch` pipeline, `basic_publish`: body
encoding, delivery tag, priority key, key prefix). tests/eventbus/test_wire.py compares a message
sent here with the one apply_async sends for the same delivery, field by field, so a Celery or
kombu upgrade that changes either fails it.

Only Redis, only messages due now: countdowns (a worker's retry) and RabbitMQ (each publish
confirmed) go through apply_async as before (outbox.publish_deliveries decides).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import signals
from kombu.entity import Exchange
from kombu.serialization import dumps
from kombu.utils.uuid import uuid

from eventbus import spans
from eventbus.celeryapp import celery_app
from eventbus.queues import RUN_DELIVERY


# producer: a kombu Producer; Any because what is asked of it (the Redis channel's batch
# publishing) belongs to the Redis transport, which kombu's stubs do not type.
def usable(producer: Any) -> bool:
    """Redis with pipelines that are never replayed (kombu's own condition for batches), and
    nothing that watches publishing through apply_async: task-sent events (Flower's "received"
    column with CELERY_TASK_SEND_SENT_EVENT on), receivers of Celery's publish signals (tracing
    libraries; our own OpenTelemetry set-up disconnects the Celery instrumentation's, see
    pizzeria/observability/tracing.py), compression."""
    app = celery_app()
    return (
        producer.connection.transport.driver_type == "redis"
        # the channel's own answer (Producer.supports_batch_publish asks the transport's default
        # until its channel exists)
        and producer.channel.supports_batch_publish
        and not app.conf.task_compression
        and not app.conf.task_send_sent_event
        and not signals.before_task_publish.receivers
        and not signals.after_task_publish.receivers
    )


def send(producer: Any, items: Sequence[tuple[Any, ...]], *, headers: dict[str, str] | None) -> None:
    """Publish (delivery_id, queue, time limits[, trace_context]) items in one pipelined round trip.

    trace_context, the event's (traceparent, tracestate) when tracing is on, adds the item's
    own headers (eventbus/spans.py); the worker's task span takes its parent from them.

    Raises what the broker raises; kombu cannot say which commands of a failed pipeline ran, so
    the caller treats all of them as unsent (a delivery sent twice is claimed once).
    """
    channel = producer.channel
    batch = channel.create_publish_batch(max_size=len(items) + 1)
    try:
        for delivery_id, queue, limits, *trace in items:
            trace_headers = spans.message_headers(trace[0]) if trace else None
            item_headers = {**(headers or {}), **trace_headers} if trace_headers else headers
            batch.publish(message(channel, delivery_id, limits, item_headers), exchange="", routing_key=queue)
        batch.flush()
    except BaseException:
        batch.discard()
        raise
    finally:
        batch.close()


def message(
    channel: Any, delivery_id: int, limits: dict[str, Any], headers: dict[str, str] | None
) -> dict[str, Any]:
    """The kombu message apply_async((delivery_id,), queue=…, headers=…, **limits) would publish."""
    app = celery_app()
    run_delivery = app.tasks[RUN_DELIVERY]
    task_id = uuid()
    task = app.amqp.create_task_message(
        task_id,
        RUN_DELIVERY,
        (delivery_id,),
        {},
        # A handler's own limits, else the task's (task_time_limit …), as send_task resolves them.
        time_limit=limits.get("time_limit", run_delivery.time_limit),
        soft_time_limit=limits.get("soft_time_limit", run_delivery.soft_time_limit),
        ignore_result=True,
        reply_to=app.thread_oid,
        argsrepr=f"({delivery_id!r},)",  # what saferepr writes for a one-int tuple, without its cost
        kwargsrepr="{}",
    )
    if headers:
        task.headers.update(headers)
    content_type, content_encoding, body = dumps(task.body, serializer=app.conf.task_serializer)
    properties = {**task.properties, "delivery_mode": Exchange.PERSISTENT_DELIVERY_MODE}
    return channel.prepare_message(body, 0, content_type, content_encoding, task.headers, properties)
