"""Thin Celery tasks: load by id, call one function. State lives in rows, results are ignored."""

import contextlib
import logging
import random
import time

from celery import shared_task
from django.conf import settings
from django.db import connection

from pizzeria.eventbus.delivery import DatabaseLost, delivery_run
from pizzeria.eventbus.services import deliveries_purge
from pizzeria.eventbus.sweeper import sweep
from pizzeria.ops import context, counters
from pizzeria.ops.stats import queue_of

logger = logging.getLogger(__name__)


@shared_task(name="eventbus.run_delivery", bind=True, ignore_result=True, max_retries=None)
def run_delivery(self, delivery_id: int, abandoned_attempt: int | None = None) -> str:
    # Every log record of this delivery carries its ids (pizzeria.ops.context); the request id
    # of the web request that published it comes as a message header.
    context.clear()
    context.bind(delivery_id=delivery_id, task_id=self.request.id, request_id=_header(self.request, "request_id"))
    started = time.monotonic()
    outcome = "error"
    try:
        outcome = delivery_run(delivery_id, worker=self.request.hostname or "", abandoned_attempt=abandoned_attempt)
        return outcome
    except DatabaseLost as exc:
        outcome = "database-lost"
        # The database went away (restart, failover, cut connections). Acknowledging the message
        # would strand the delivery until the sweeper's next look; instead drop the broken
        # connection and send the message again with a capped backoff, carrying the attempt
        # left running so the retry releases it at once.
        with contextlib.suppress(Exception):
            connection.close()
        countdown = random.uniform(0.5, 1.0) * min(
            settings.EVENTBUS_DB_RETRY_CAP, settings.EVENTBUS_DB_RETRY_BASE * 2**self.request.retries
        )
        logger.warning("delivery_id=%s: %s; retrying in %.1fs", delivery_id, exc, countdown)
        raise self.retry(
            args=(delivery_id,), kwargs={"abandoned_attempt": exc.attempt}, countdown=countdown, exc=exc,
            headers={"request_id": context.value("request_id"), **_trace_headers(self.request)},
        ) from None
    finally:
        handler = context.value("handler")
        if handler and outcome != "skipped":  # skipped: a duplicate or early message, no attempt
            counters.delivery_recorded(
                handler=handler, queue=queue_of(handler), outcome=outcome, seconds=time.monotonic() - started
            )
        context.clear()


def _trace_headers(request) -> dict:
    """The event's trace context this message came with, for the message that retries it."""
    return {name: value for name in ("traceparent", "tracestate") if (value := _header(request, name))}


def _header(request, name: str):
    value = getattr(request, name, None)
    if value is None and isinstance(getattr(request, "headers", None), dict):
        value = request.headers.get(name)
    return value


@shared_task(name="eventbus.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> dict:
    result = sweep()
    return {
        "redispatched": result.redispatched,
        "leases_expired": result.leases_expired,
        "broker_reset": result.broker_reset,
    }


@shared_task(name="eventbus.purge_delivered", ignore_result=True)
def purge_delivered() -> dict:
    deliveries, events = deliveries_purge()
    return {"deliveries": deliveries, "events": events}
