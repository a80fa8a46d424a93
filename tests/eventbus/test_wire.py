"""On Redis, run_delivery messages leave without apply_async (eventbus/wire.py): the same
message, field by field, as apply_async puts on the queue for the same delivery.

A Celery or kombu upgrade that changes the task protocol or the Redis envelope fails these tests
before a worker sees a message it reads differently.
"""

import base64
import json

import pytest
from django.conf import settings
from kombu.transport import redis as redis_transport

from eventbus import outbox, wire
from eventbus.models import Delivery
from eventbus.outbox import publish_deliveries, queue_for
from eventbus.tasks import run_delivery
from pizzeria.celery import app
from pizzeria.observability import context
from pizzeria.redisclient import redis_client
from simulation.workerproc import queues_purge
from tests.eventbus.probes import PROBE_A, emit

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"), reason="kombu's Redis transport"),
]

PER_MESSAGE = {
    ("headers", "id"),
    ("headers", "root_id"),
    ("properties", "correlation_id"),
    ("properties", "delivery_tag"),
}


@pytest.fixture
def broker():
    queues_purge()
    yield redis_client(settings.CELERY_BROKER_URL)
    queues_purge()


def _queued(broker, queue: str) -> list[dict]:
    """The queue's raw messages, oldest first (kombu LPUSHes, workers BRPOP)."""
    return [json.loads(raw) for raw in reversed(broker.lrange(queue, 0, -1))]


def _without_ids(message: dict) -> dict:
    copy = json.loads(json.dumps(message))
    for part, key in PER_MESSAGE:
        copy[part].pop(key)
    return copy


def _delivery() -> Delivery:
    return Delivery.objects.get(event_id=emit("ok").event_id, handler=PROBE_A)


def test_the_message_is_the_one_apply_async_sends(broker, monkeypatch):
    d = _delivery()
    queue = queue_for(d.handler)
    context.bind(request_id="req-123")
    try:
        assert publish_deliveries([(d.pk, d.handler)]) == 1  # wire.py
        monkeypatch.setattr(wire, "usable", lambda producer: False)
        assert publish_deliveries([(d.pk, d.handler)]) == 1  # apply_async
    finally:
        context.clear()

    ours, celerys = _queued(broker, queue)
    assert _without_ids(ours) == _without_ids(celerys)
    assert ours["headers"]["request_id"] == "req-123"
    assert json.loads(base64.b64decode(ours["body"]))[0] == [d.pk]
    # one task id throughout the message, and not the other message's
    task_id = ours["headers"]["id"]
    assert ours["headers"]["root_id"] == ours["properties"]["correlation_id"] == task_id
    assert task_id != celerys["headers"]["id"]
    assert ours["properties"]["delivery_tag"] != celerys["properties"]["delivery_tag"]


def test_a_handlers_own_time_limits_travel_as_apply_async_sends_them(broker):
    d = _delivery()
    limits = {"soft_time_limit": 7, "time_limit": 9}
    with app.producer_or_acquire() as producer:
        wire.send(producer, [(d.pk, "kitchen", limits)], headers=None)
        run_delivery.apply_async((d.pk,), queue="kitchen", producer=producer, **limits)

    ours, celerys = _queued(broker, "kitchen")
    assert ours["headers"]["timelimit"] == [9, 7]
    assert _without_ids(ours) == _without_ids(celerys)


def test_many_deliveries_go_in_one_pipeline_each_to_its_handlers_queue(broker):
    emit("ok")
    emit("ok")
    items = list(Delivery.objects.order_by("pk").values_list("pk", "handler"))
    assert len(items) == 4

    assert publish_deliveries(items) == 4

    taken = {}
    for queue in {queue_for(h) for _, h in items}:
        for message in _queued(broker, queue):
            taken[json.loads(base64.b64decode(message["body"]))[0][0]] = queue
    assert taken == {pk: queue_for(h) for pk, h in items}


def test_a_countdown_goes_through_apply_async_with_its_eta(broker):
    d = _delivery()

    assert publish_deliveries([(d.pk, d.handler)], countdown=30) == 1

    (message,) = _queued(broker, queue_for(d.handler))
    assert message["headers"]["eta"] is not None


def test_without_retry_safe_pipelines_each_message_goes_alone(broker, monkeypatch):
    # kombu refuses batches when redis-py may replay a pipeline (retry_on_timeout): apply_async then.
    d = _delivery()
    calls = []
    monkeypatch.setattr(outbox.wire, "send", lambda *args, **kwargs: calls.append(args))
    monkeypatch.setattr(redis_transport.Channel, "supports_batch_publish", property(lambda self: False))

    assert publish_deliveries([(d.pk, d.handler)]) == 1

    assert calls == [] and len(_queued(broker, queue_for(d.handler))) == 1


def test_a_publish_signal_receiver_or_sent_events_get_apply_async(broker, monkeypatch):
    # Whatever watches publishing through Celery (a tracing library's signal receiver, task-sent
    # events) sees every message: wire.py steps aside.
    from celery import signals

    d = _delivery()
    seen = []

    def watch(sender=None, headers=None, **kwargs):
        seen.append(headers["argsrepr"])

    signals.before_task_publish.connect(watch)
    try:
        assert publish_deliveries([(d.pk, d.handler)]) == 1
    finally:
        signals.before_task_publish.disconnect(watch)
    assert seen == [f"({d.pk},)"]

    monkeypatch.setitem(app.conf, "task_send_sent_event", True)
    with app.producer_or_acquire() as producer:
        assert not wire.usable(producer)
