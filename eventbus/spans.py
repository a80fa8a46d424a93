"""The bus's spans: the trace context travels with the event row, not only with the message.

outbox_write records its events inside an "outbox write" span and stores that span's W3C
traceparent on each OutboxEvent. Every message for one of its deliveries carries it as a header
(on commit, a worker's retry, the sweeper's re-send minutes later, after a broker outage), so
the Celery task span and the attempt span below join the order's trace whoever sent the message.
A replayed dead letter runs in the trace of the replay (the staff action) and links to the order's.

Everything here is a no-op when tracing is off (pizzeria.observability.tracing.enabled()): callers check
`tracing.enabled()` before calling into the hot paths, and nothing is stored or sent.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from pizzeria.observability import tracing

# The recording transaction's context of the event whose delivery runs now: the CloudEvents
# sent to subscribers carry it as their `traceparent` extension (eventbus/cloudevents.py).
_event_traceparent: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "event_traceparent", default=None
)

TraceContext = tuple[str, str]  # (traceparent, tracestate)


def event_traceparent() -> str | None:
    return _event_traceparent.get()


def message_headers(trace_context: TraceContext | None) -> dict[str, str] | None:
    """Headers of a run_delivery message for an event recorded under trace_context."""
    if not trace_context or not trace_context[0]:
        return None
    traceparent, tracestate = trace_context
    return (
        {"traceparent": traceparent, "tracestate": tracestate} if tracestate else {"traceparent": traceparent}
    )


@contextlib.contextmanager
def outbox_write(events: Sequence[Any]) -> Iterator[TraceContext | None]:
    """Span the outbox write; yield the (traceparent, tracestate) to store, or None when off."""
    if not tracing.enabled():
        yield None
        return
    attributes = {
        "pizzeria.event.types": sorted({e.type for e in events}),
        "pizzeria.event.count": len(events),
        "pizzeria.aggregate": f"{events[0].aggregate_type}/{events[0].aggregate_id}" if events else "",
    }
    with tracing.tracer().start_as_current_span("outbox write", attributes=attributes):
        yield tracing.current_traceparent()


def _parent_and_links(claim: Any) -> tuple[Any, list]:
    """The attempt's parent context and links (see the module docstring)."""
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry import context as otel_context
    from opentelemetry import trace

    recorded = tracing.context_from(claim.traceparent, claim.tracestate)
    current = trace.get_current_span().get_span_context()
    recorded_span = trace.get_current_span(recorded).get_span_context() if recorded is not None else None
    replayed = claim.attempt_since_replay != claim.attempt
    if recorded_span is None:
        return None, []  # recorded with tracing off: the task's own span (or a new trace)
    if replayed:
        return otel_context.get_current(), [trace.Link(recorded_span, {"pizzeria.link": "replay of"})]
    if current.is_valid and current.trace_id == recorded_span.trace_id:
        return otel_context.get_current(), []  # the task span already joined the order's trace
    links = [trace.Link(current, {"pizzeria.link": "sent by"})] if current.is_valid else []
    return recorded, links


@contextlib.contextmanager
def attempt(claim: Any, *, queue: str) -> Iterator[Any]:
    """One span per delivery attempt: handler, queue, attempt, time waited since recorded."""
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry import trace

    parent, links = _parent_and_links(claim)
    attributes: dict[str, Any] = {
        "pizzeria.handler": claim.handler,
        "messaging.destination.name": queue,
        "pizzeria.delivery.id": claim.delivery_id,
        "pizzeria.delivery.attempt": claim.attempt,
        "pizzeria.event.id": claim.event_id,
        "pizzeria.event.type": claim.event_type or "",
    }
    if isinstance(claim.recorded_at, dt.datetime):
        attributes["pizzeria.delivery.wait_ms"] = round(
            (claim.claimed_at - claim.recorded_at).total_seconds() * 1000, 1
        )
    token = _event_traceparent.set(claim.traceparent)
    try:
        with tracing.tracer().start_as_current_span(
            f"deliver {claim.handler}",
            context=parent,
            links=links,
            kind=trace.SpanKind.CONSUMER,
            attributes=attributes,
        ) as span:
            yield span
    finally:
        _event_traceparent.reset(token)


def attempt_outcome(span: Any, outcome: str) -> None:
    span.set_attribute("pizzeria.delivery.outcome", str(outcome))


def attempt_failed(exc: BaseException, *, status: str) -> None:
    """Record a handler failure on the current attempt span; a dead letter says so."""
    if not tracing.enabled():
        return
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    span = trace.get_current_span()
    span.record_exception(exc)
    dead = status == "dead"
    span.set_attribute("pizzeria.delivery.dead_letter", dead)
    kind = "dead letter" if dead else "will retry"
    span.set_status(Status(StatusCode.ERROR, f"{kind}: {type(exc).__name__}: {exc}"[:500]))


@contextlib.contextmanager
def remote_parent(
    name: str, traceparent: str | None, tracestate: str | None = None, **attributes: Any
) -> Iterator[None]:
    """Run a block in a span whose parent is a traceparent received from outside (an inbound
    CloudEvent's extension), linked to the current span (the HTTP request that carried it)."""
    context = tracing.context_from(traceparent, tracestate) if tracing.enabled() else None
    if context is None:
        yield
        return
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry import trace

    current = trace.get_current_span().get_span_context()
    links = [trace.Link(current, {"pizzeria.link": "received by"})] if current.is_valid else []
    with tracing.tracer().start_as_current_span(name, context=context, links=links, attributes=attributes):
        yield
