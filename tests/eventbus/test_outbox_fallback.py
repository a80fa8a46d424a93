"""A fast publish path (wire.py) that breaks for a reason other than the broker falls back to
apply_async, says why at ERROR and is counted; it does not leave the order to the sweeper."""

import logging

import pytest

from eventbus import outbox, registry, wire
from eventbus.models import Delivery, OutboxEvent
from orders.events import OrderPlaced
from simulation.workerproc import queues_purge
from tests.eventbus.test_order_flow import _client_and_body
from tests.ops.test_metrics import metrics_samples
from tests.polling import wait_until
from tests.worker import make_worker

pytestmark = [pytest.mark.worker]

SECRET = "scrape-secret-fallback-0123456789"
FAST_PATH_ERRORS = 'eventbus_publish_errors_total{error="AttributeError",path="fast"}'


@pytest.mark.django_db(transaction=True)
def test_a_broken_fast_path_still_publishes_the_order_says_why_and_is_counted(
    client, settings, monkeypatch, caplog
):
    # given a worker without beat: no sweeper, so only the order request's own publish can ring
    queues_purge()
    worker = make_worker(beat=False).start()
    try:
        settings.METRICS_TOKEN = SECRET
        before = metrics_samples(client, SECRET).get(FAST_PATH_ERRORS, 0.0)

        def broken_send(producer, items, *, headers):  # what a kombu change could do to wire.py
            raise AttributeError("'Channel' object has no attribute 'create_publish_batch'")

        monkeypatch.setattr(wire, "send", broken_send)
        # The fast path is Redis's; on RabbitMQ (CI's second pass) it is taken here all the same,
        # so the fallback to apply_async is what runs on both brokers.
        monkeypatch.setattr(wire, "usable", lambda producer: True)
        api, body = _client_and_body()

        # when an order is placed
        with caplog.at_level(logging.ERROR, logger=outbox.logger.name):
            response = api.post("/api/orders/", body, format="json")

        # then the request succeeded and every delivery was published at once and run by the worker
        assert response.status_code == 201, response.content
        event = OutboxEvent.objects.get(
            aggregate_type="order", aggregate_id=str(response.json()["id"]), type=OrderPlaced.type
        )
        deliveries = Delivery.objects.filter(event=event)
        assert set(deliveries.values_list("handler", flat=True)) == {
            spec.name for spec in registry.handlers_for(OrderPlaced.type)
        }

        def all_succeeded():
            statuses = dict(deliveries.values_list("handler", "status"))
            return set(statuses.values()) == {"succeeded"}

        try:
            wait_until(all_succeeded, timeout=30, message="every OrderPlaced delivery to succeed")
        except AssertionError:
            raise AssertionError(
                f"{list(deliveries.values_list('handler', 'status', 'enqueued_at'))}\n{worker.log_tail()}"
            ) from None
        assert set(deliveries.values_list("attempts", flat=True)) == {1}

        # the error is logged with its real cause, not as "broker unavailable"
        errors = [r for r in caplog.records if r.name == outbox.logger.name and r.levelno == logging.ERROR]
        assert len(errors) == 1, [r.getMessage() for r in caplog.records]
        assert errors[0].exc_info is not None and errors[0].exc_info[0] is AttributeError
        assert "AttributeError" in errors[0].getMessage()
        assert not [r for r in caplog.records if "Broker unavailable" in r.getMessage()]

        # and counted in the metric
        assert metrics_samples(client, SECRET).get(FAST_PATH_ERRORS, 0.0) == before + 1
    finally:
        worker.stop()


@pytest.mark.django_db
def test_a_broker_error_in_the_fast_path_still_leaves_the_deliveries_to_the_sweeper(monkeypatch, caplog):
    # The control: a connection error is the broker's, so no fallback and no ERROR.
    from tests.eventbus.probes import emit

    def refused(producer, items, *, headers):
        raise ConnectionError("broker away")

    applied = []
    monkeypatch.setattr(wire, "usable", lambda producer: True)
    monkeypatch.setattr(wire, "send", refused)
    monkeypatch.setattr(outbox, "_apply_async_each", lambda items, **kw: applied.extend(items) or iter(()))
    emit("ok")
    items = list(Delivery.objects.values_list("pk", "handler"))

    with caplog.at_level(logging.WARNING, logger=outbox.logger.name):
        assert outbox.publish_deliveries(items) == 0

    assert applied == []
    assert list(Delivery.objects.values_list("enqueued_at", flat=True)) == [None, None]
    logged = [
        r.levelno for r in caplog.records if r.name == outbox.logger.name and r.levelno >= logging.WARNING
    ]
    assert logged == [logging.WARNING]
