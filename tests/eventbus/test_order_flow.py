"""An order placed through the API reaches every subscribed handler through a real worker."""

import time

import pytest
from rest_framework.test import APIClient

from eventbus import registry
from eventbus.models import Delivery, OutboxEvent
from orders.events import OrderPlaced
from tests.factories import make_customer, make_menu
from tests.polling import wait_until
from tests.worker import app_broker, free_port

pytestmark = [pytest.mark.worker]


def _client_and_body():
    menu = make_menu()
    customer = make_customer()
    client = APIClient()
    client.force_authenticate(customer.user)
    body = {
        "items": [
            {
                "pizza": menu["pizzas"]["Margherita"].pk,
                "size": "large",
                "toppings": ["mushrooms"],
                "quantity": 2,
            }
        ],
        "fulfilment": "delivery",
        "delivery_address": "12 Via Roma, Springfield",
    }
    return client, body


def _order_event(order_id: int) -> OutboxEvent:
    return OutboxEvent.objects.get(aggregate_type="order", aggregate_id=str(order_id), type=OrderPlaced.type)


def test_order_placed_reaches_every_subscribed_handler_once(worker):
    client, body = _client_and_body()
    subscribed = {spec.name for spec in registry.handlers_for(OrderPlaced.type)}
    assert subscribed, "OrderPlaced has no handler"

    response = client.post("/api/orders/", body, format="json")

    assert response.status_code == 201, response.content
    event = _order_event(response.json()["id"])
    deliveries = Delivery.objects.filter(event=event)
    assert set(deliveries.values_list("handler", flat=True)) == subscribed

    def all_done():
        statuses = dict(deliveries.values_list("handler", "status"))
        return statuses if set(statuses.values()) == {"succeeded"} else None

    try:
        wait_until(all_done, timeout=30, message="every OrderPlaced delivery to succeed")
    except AssertionError:
        raise AssertionError(list(deliveries.values_list("handler", "status", "last_error"))) from None
    assert set(deliveries.values_list("attempts", flat=True)) == {1}

    detail = client.get(f"/api/orders/{response.json()['id']}/").json()
    assert OrderPlaced.type in [entry["type"] for entry in detail["timeline"]]


def test_api_answers_201_fast_with_the_broker_unreachable_then_the_sweeper_delivers(worker):
    client, body = _client_and_body()

    with app_broker(f"redis://127.0.0.1:{free_port()}/0"):  # nothing listens there
        started = time.monotonic()
        response = client.post("/api/orders/", body, format="json")
        elapsed = time.monotonic() - started

    assert response.status_code == 201, response.content
    assert elapsed < 1.0, f"placing an order took {elapsed:.2f}s with the broker down"
    event = _order_event(response.json()["id"])
    deliveries = Delivery.objects.filter(event=event)
    assert deliveries.exists()
    # The publishing side never reached a broker, so the worker can only get them via the sweeper.
    wait_until(
        lambda: set(deliveries.values_list("status", flat=True)) == {"succeeded"},
        timeout=30,
        message="the sweeper to deliver the stranded deliveries",
    )
    assert set(deliveries.values_list("attempts", flat=True)) == {1}
