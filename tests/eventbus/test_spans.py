"""The trace context travels with the event row, and tracing costs the publishing fast path nothing.

The end-to-end proof (real web, worker, sweeper, OTLP receiver) is tests/pizzeria/observability/test_tracing.py.
"""

import base64
import json

import pytest
from celery import signals
from django.conf import settings
from django.db import transaction

from eventbus import outbox, sweeper, wire
from eventbus import spans as bus_spans
from eventbus.delivery import delivery_run
from eventbus.models import Delivery, OutboxEvent
from eventbus.outbox import publish_deliveries, queue_for
from pizzeria.celery import app
from pizzeria.observability import tracing
from simulation.workerproc import queues_purge
from tests.eventbus.probes import PROBE_A, emit
from tests.eventbus.test_wire import _queued, broker  # noqa: F401 (fixture)
from tests.pizzeria.observability.local_tracing import spans  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

REDIS_ONLY = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis"), reason="kombu's Redis transport"
)
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@REDIS_ONLY
def test_with_tracing_off_nothing_watches_publishing_and_the_fast_path_sends(
    broker,  # noqa: F811 (the fixture imported above)
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    # given this process's environment asks for no tracing (as every test run's does)
    assert not tracing.enabled()
    assert not signals.before_task_publish.receivers and not signals.after_task_publish.receivers
    sent = []
    real_send = wire.send
    monkeypatch.setattr(
        outbox.wire,
        "send",
        lambda producer, items, **kw: sent.append(items) or real_send(producer, items, **kw),
    )

    # when an event commits
    with django_capture_on_commit_callbacks(execute=True):
        event = emit("ok")

    # then its deliveries left through wire.py, with no trace context stored or sent
    assert sorted(i[0] for batch in sent for i in batch) == sorted(
        Delivery.objects.filter(event_id=event.event_id).values_list("pk", flat=True)
    )
    assert all(len(item) == 3 for batch in sent for item in batch)  # (id, queue, limits): nothing more
    row = OutboxEvent.objects.get(pk=event.event_id)
    assert row.traceparent is None and row.tracestate is None
    (message,) = _queued(broker, queue_for(PROBE_A))
    assert "traceparent" not in message["headers"]


@REDIS_ONLY
def test_the_celery_instrumentation_keeps_the_fast_path_in_use():
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    before = len(signals.task_prerun.receivers)
    instrumentor = CeleryInstrumentor()
    instrumentor.instrument()
    try:
        with app.producer_or_acquire() as producer:
            # as installed, its publish receivers would make wire.py step aside
            assert not wire.usable(producer)
            tracing._celery_consumer_side_only(instrumentor)
            assert wire.usable(producer)
        assert (
            len(signals.task_prerun.receivers) == before + 1
        )  # the consumer side (a span per task run) stays
    finally:
        instrumentor.uninstrument()
    assert len(signals.task_prerun.receivers) == before


@REDIS_ONLY
@pytest.mark.parametrize("fast", [True, False], ids=["wire", "apply_async"])
def test_every_message_carries_its_events_trace_context(broker, monkeypatch, fast):  # noqa: F811
    d = Delivery.objects.get(event_id=emit("ok").event_id, handler=PROBE_A)
    queues_purge()
    if not fast:
        monkeypatch.setattr(wire, "usable", lambda producer: False)

    assert publish_deliveries([(d.pk, d.handler, (TRACEPARENT, "pz=1"))]) == 1

    (message,) = _queued(broker, queue_for(d.handler))
    assert message["headers"]["traceparent"] == TRACEPARENT
    assert message["headers"]["tracestate"] == "pz=1"
    assert json.loads(base64.b64decode(message["body"]))[0] == [d.pk]


def test_the_sweeper_sends_each_delivery_with_its_events_stored_context(monkeypatch, spans):  # noqa: F811
    event = emit("ok")
    OutboxEvent.objects.filter(pk=event.event_id).update(traceparent=TRACEPARENT, tracestate="")
    Delivery.objects.filter(event_id=event.event_id).update(enqueued_at=None)  # the broker was down
    sent = []
    monkeypatch.setattr(sweeper, "publish_deliveries", lambda items, **kw: sent.extend(items) or len(items))

    sweeper.sweep()

    assert {(handler, trace) for _, handler, trace in sent} == {
        (h, (TRACEPARENT, ""))
        for h in Delivery.objects.filter(event_id=event.event_id).values_list("handler", flat=True)
    }


def test_the_outbox_row_keeps_the_recording_transactions_context(spans):  # noqa: F811
    from opentelemetry import trace

    with tracing.tracer().start_as_current_span("request"):
        event = emit("ok")
    (request,) = [s for s in spans.get_finished_spans() if s.name == "request"]
    (outbox_write,) = [s for s in spans.get_finished_spans() if s.name == "outbox write"]

    row = OutboxEvent.objects.get(pk=event.event_id)
    assert row.traceparent == tracing.format_traceparent(outbox_write.context)
    assert outbox_write.parent.span_id == request.context.span_id
    assert outbox_write.attributes["pizzeria.event.types"] == ("com.mariopizzeria.test.probe",)
    assert trace.get_current_span().get_span_context().is_valid is False


def _run(delivery: Delivery) -> str:
    return delivery_run(delivery.pk, worker="test")


def test_an_attempt_is_a_child_of_the_recorded_context_and_a_dead_letter_an_error(spans, monkeypatch):  # noqa: F811
    from opentelemetry.trace import StatusCode

    with transaction.atomic():
        with tracing.tracer().start_as_current_span("request"):
            event = emit("permanent")
    d = Delivery.objects.get(event_id=event.event_id, handler=PROBE_A)
    row = OutboxEvent.objects.get(pk=event.event_id)
    monkeypatch.setattr(outbox, "publish_deliveries", lambda *a, **kw: 0)

    # when the worker runs it with no context of its own (a message without headers)
    assert _run(d) == "dead"

    (attempt,) = [s for s in spans.get_finished_spans() if s.name == f"deliver {PROBE_A}"]
    assert f"{attempt.context.trace_id:032x}-{attempt.parent.span_id:016x}" == "-".join(
        row.traceparent.split("-")[1:3]
    )
    assert attempt.attributes["pizzeria.delivery.outcome"] == "dead"
    assert attempt.attributes["pizzeria.delivery.dead_letter"] is True
    assert attempt.attributes["pizzeria.delivery.attempt"] == 1
    assert attempt.attributes["messaging.destination.name"] == "kitchen"
    assert attempt.attributes["pizzeria.delivery.wait_ms"] >= 0
    assert attempt.status.status_code == StatusCode.ERROR and "dead letter" in attempt.status.description
    assert [e.name for e in attempt.events] == ["exception"]


def test_a_replayed_dead_letter_runs_in_the_replays_trace_linked_to_the_order(spans, monkeypatch):  # noqa: F811
    from eventbus.services import delivery_replay

    monkeypatch.setattr(outbox, "publish_deliveries", lambda *a, **kw: 0)
    with tracing.tracer().start_as_current_span("request"):
        event = emit("permanent")
    d = Delivery.objects.get(event_id=event.event_id, handler=PROBE_A)
    assert _run(d) == "dead"
    recorded = OutboxEvent.objects.get(pk=event.event_id).traceparent.split("-")

    with tracing.tracer().start_as_current_span("staff replay") as replay:
        delivery_replay(deliveries=[d], actor="staff")
        _run(d)  # (as the worker would, under the replay message's context)

    second = [s for s in spans.get_finished_spans() if s.name == f"deliver {PROBE_A}"][-1]
    assert second.attributes["pizzeria.delivery.attempt"] == 2
    assert second.context.trace_id == replay.get_span_context().trace_id
    (link,) = second.links
    assert (f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}") == (recorded[1], recorded[2])


def test_outgoing_cloudevents_carry_the_recorded_traceparent_only_during_a_delivery():
    from eventbus.cloudevents import to_cloudevent
    from tests.testapp.events import ProbeHappened

    event = ProbeHappened(behaviour="ok")
    assert "traceparent" not in to_cloudevent(event).get_attributes()
    token = bus_spans._event_traceparent.set(TRACEPARENT)
    try:
        assert to_cloudevent(event).get_extension("traceparent") == TRACEPARENT
    finally:
        bus_spans._event_traceparent.reset(token)
