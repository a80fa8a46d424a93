"""Thin Celery tasks: load by id, call one function. State lives in rows, results are ignored."""

import logging
import time
from typing import Any

from celery import Task, shared_task
from celery.exceptions import Reject

from eventbus.delivery import RunOutcome, delivery_decide, delivery_unsent
from eventbus.registry import queue_of
from eventbus.services import deliveries_purge
from eventbus.sweeper import sweep
from pizzeria.observability import context, counters

logger = logging.getLogger(__name__)


@shared_task(name="eventbus.run_delivery", bind=True, ignore_result=True, max_retries=None)
def run_delivery(self: Task, delivery_id: int, abandoned_attempt: int | None = None) -> str:
    # Every log record of this delivery carries its ids (pizzeria.observability.context); the request id
    # of the web request that published it comes as a message header.
    context.clear()
    context.bind(
        delivery_id=delivery_id, task_id=self.request.id, request_id=_header(self.request, "request_id")
    )
    started = time.monotonic()
    outcome = "error"
    try:
        decision = delivery_decide(
            delivery_id,
            worker=self.request.hostname or "",
            abandoned_attempt=abandoned_attempt,
            lost_before=self.request.retries or 0,
        )
        outcome = str(decision)
        if decision.retry_in is not None:
            _send_again(self, delivery_id, decision)
        return outcome
    finally:
        handler = context.value("handler")
        if handler and outcome != "skipped":  # skipped: a duplicate or early message, no attempt
            counters.delivery_recorded(
                handler=handler, queue=queue_of(handler), outcome=outcome, seconds=time.monotonic() - started
            )
        context.clear()


def _send_again(task: Task, delivery_id: int, decision: RunOutcome) -> None:
    """The one way a delivery is tried again in N s, whatever the cause (handler failure, lost
    database): this message, sent again with a countdown (Celery's retry: same queue, time limits
    and request id). Longer waits, and a retry the broker refuses, are the sweeper's."""
    kwargs = {} if decision.abandoned_attempt is None else {"abandoned_attempt": decision.abandoned_attempt}
    try:
        raise task.retry(
            args=(delivery_id,),
            kwargs=kwargs,
            countdown=decision.retry_in,
            headers={"request_id": context.value("request_id"), **_trace_headers(task.request)},
        )
    except Reject:  # the broker refused the new message: this one is dropped, the row stays due
        logger.warning("delivery_id=%s: retry not sent; left to the sweeper", delivery_id, exc_info=True)
        if decision != RunOutcome.DATABASE_LOST:  # (with the database away, its lease brings it back)
            delivery_unsent(delivery_id)
        raise


def _trace_headers(request: Any) -> dict[str, Any]:
    """The event's trace context this message came with, for the message that retries it."""
    return {name: value for name in ("traceparent", "tracestate") if (value := _header(request, name))}


def _header(request: Any, name: str) -> Any:
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
