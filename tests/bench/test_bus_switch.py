"""The API bench's bus-off switch (bench/bus.py): the order is saved, the bus writes nothing."""

import pytest

from bench import bus
from eventbus.models import Delivery, OutboxEvent
from orders.events import OrderPlaced
from orders.models import Order, OrderItem
from tests.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def bus_off():
    bus.publishing_off()
    try:
        yield
    finally:
        bus.publishing_on()


def test_bus_off_saves_the_order_and_its_items_but_no_outbox_row_or_delivery(
    bus_off, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order = make_order()

    assert Order.objects.filter(pk=order.pk).exists()
    assert OrderItem.objects.filter(order=order).count() == 1
    assert OutboxEvent.objects.count() == 0 and Delivery.objects.count() == 0
    assert not any("publish_deliveries" in repr(c) for c in callbacks)  # nothing to send after commit
    # the response's timeline still has the event, as with the bus on
    assert [type(e) for e in order.known_events] == [OrderPlaced]


def test_switching_the_bus_back_on_writes_the_outbox_again(bus_off, django_capture_on_commit_callbacks):
    bus.publishing_on()
    try:
        with django_capture_on_commit_callbacks(execute=False):
            make_order()
        assert OutboxEvent.objects.count() == 1 and Delivery.objects.count() > 0
    finally:
        bus.publishing_off()  # the fixture switches it on again


def test_the_environment_decides(monkeypatch):
    monkeypatch.setenv(bus.ENV, "sideways")
    with pytest.raises(ValueError):
        bus.from_environment()
