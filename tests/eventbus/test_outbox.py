"""Aggregates record, saving publishes: outbox and deliveries in the same transaction."""

from functools import partial

import pytest
from django.db import transaction

from eventbus.clock import db_now
from eventbus.models import Delivery, OutboxEvent
from eventbus.outbox import publish_deliveries
from tests.capture import messages_sent_to
from tests.eventbus.probes import PROBE_A, PROBE_B, emit
from tests.testapp.events import ProbeHappened
from tests.testapp.models import Probe
from tests.worker import redis_broker_only

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def test_saving_a_recorded_event_writes_one_outbox_row_and_one_delivery_per_handler(
    django_capture_on_commit_callbacks,
):
    # when
    with django_capture_on_commit_callbacks(execute=False):
        event = emit("ok")
    # then
    outbox = OutboxEvent.objects.get()
    assert outbox.event_id == event.event_id
    assert outbox.type == ProbeHappened.type
    assert (outbox.aggregate_type, outbox.aggregate_version) == ("probe", 1)
    assert outbox.aggregate_id == str(Probe.objects.get().pk)
    assert outbox.payload["behaviour"] == "ok"
    deliveries = Delivery.objects.filter(event=outbox)
    assert sorted(d.handler for d in deliveries) == [PROBE_A, PROBE_B]
    assert {d.status for d in deliveries} == {Delivery.Status.PENDING}
    assert all(d.attempts == 0 and d.enqueued_at is not None for d in deliveries)


def test_a_delivery_row_has_the_models_defaults_and_the_databases_clock():
    # outbox.deliveries_insert writes the rows in one INSERT … SELECT, not through the model
    before = db_now()
    event = emit("ok")
    after = db_now()

    row = Delivery.objects.get(event_id=event.event_id, handler=PROBE_A)
    fresh = Delivery(event_id=event.event_id, handler=PROBE_A)
    clock = {"next_attempt_at", "enqueued_at", "created_at", "updated_at"}
    for field in Delivery._meta.concrete_fields:
        if not field.primary_key and field.name not in clock:
            assert getattr(row, field.attname) == getattr(fresh, field.attname), field.name
    for name in clock:
        assert before <= getattr(row, name) <= after, name


def test_outbox_rows_are_written_in_the_aggregates_transaction():
    # given: the probe is saved inside a transaction that then fails
    with pytest.raises(Boom):
        with transaction.atomic():
            probe = Probe.objects.create(name="doomed")
            probe.record(ProbeHappened(behaviour="ok"))
            probe.save()
            assert OutboxEvent.objects.count() == 1  # written, not yet committed
            raise Boom
    # then
    assert not Probe.objects.exists()
    assert not OutboxEvent.objects.exists()
    assert not Delivery.objects.exists()


def test_rolled_back_transaction_registers_no_publish(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with pytest.raises(Boom):
            with transaction.atomic():
                emit("ok")
                raise Boom

    assert callbacks == []


def test_publish_is_registered_on_commit_with_every_delivery(django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = emit("ok")
    # then: one callback that publishes the event's two deliveries, and nothing sent yet
    assert len(callbacks) == 1
    publish = callbacks[0]
    assert isinstance(publish, partial) and publish.func is publish_deliveries
    expected = sorted(Delivery.objects.filter(event_id=event.event_id).values_list("pk", "handler"))
    assert sorted(publish.args[0]) == expected


def test_on_commit_publish_sends_each_delivery_to_its_handlers_queue(django_capture_on_commit_callbacks):
    sent = {}
    with messages_sent_to(lambda delivery_id, queue: sent.update({delivery_id: queue})):
        with django_capture_on_commit_callbacks(execute=True):
            event = emit("ok")

    handlers = dict(Delivery.objects.filter(event_id=event.event_id).values_list("pk", "handler"))
    assert {handlers[pk]: queue for pk, queue in sent.items()} == {PROBE_A: "kitchen", PROBE_B: "analytics"}


def test_saving_the_aggregate_again_publishes_nothing_twice(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        emit("ok")
        probe = Probe.objects.get()
        probe.name = "renamed"
        probe.save()

    assert OutboxEvent.objects.count() == 1
    assert Delivery.objects.count() == 2
    assert len(callbacks) == 1


def test_each_recorded_event_bumps_the_aggregate_version():
    with transaction.atomic():
        probe = Probe.objects.create(name="twice")
        probe.record(ProbeHappened(behaviour="ok"))
        probe.record(ProbeHappened(behaviour="ok"))
        probe.save()

    versions = OutboxEvent.objects.order_by("aggregate_version").values_list("aggregate_version", flat=True)
    assert list(versions) == [1, 2]
    assert Probe.objects.get().version == 2
    assert Delivery.objects.count() == 4


def test_broker_error_leaves_deliveries_to_the_sweeper():
    def refuse(delivery_id, queue):
        raise ConnectionError("broker away")

    emit("ok")
    items = list(Delivery.objects.values_list("pk", "handler"))

    with messages_sent_to(refuse):
        assert publish_deliveries(items) == 0  # never raises

    assert list(Delivery.objects.values_list("enqueued_at", flat=True)) == [None, None]


@redis_broker_only
def test_a_batch_the_broker_fails_leaves_every_delivery_in_it_to_the_sweeper(monkeypatch):
    # Several deliveries go out in one pipelined batch; kombu cannot say which of its commands ran.
    from kombu.transport import redis as redis_transport

    def fail(self):
        raise ConnectionError("broker away at flush")

    emit("ok")
    items = list(Delivery.objects.values_list("pk", "handler"))
    monkeypatch.setattr(redis_transport.PublishBatch, "flush", fail)

    assert publish_deliveries(items) == 0  # never raises

    assert list(Delivery.objects.values_list("enqueued_at", flat=True)) == [None, None]
