"""The catalogue's JSON round trip: what goes into the outbox comes back equal."""

import datetime as dt
import json
import uuid
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest

from eventbus.events import DomainEvent, event_class
from orders.events import (
    OrderCancelled,
    OrderCookingStarted,
    OrderDelivered,
    OrderItemLine,
    OrderOutForDelivery,
    OrderPlaced,
    OrderReady,
    PaymentProcessed,
)
from tests.testapp.events import ProbeHappened

ROME = zoneinfo.ZoneInfo("Europe/Rome")
WHEN = dt.datetime(2025, 3, 30, 19, 59, 59, 123456, tzinfo=ROME)  # summer time, +02:00
ENVELOPE: dict[str, Any] = dict(
    event_id=uuid.UUID("0b8f3c1e-2a6b-4c4e-9d6f-1f2a3b4c5d6e"),
    occurred_at=WHEN,
    aggregate_type="order",
    aggregate_id="42",
    aggregate_version=3,
)


def round_trip(event: DomainEvent) -> DomainEvent:
    # Through a real JSON string, as the JSONField stores it.
    payload = json.loads(json.dumps(event.to_json()))
    return event_class(event.type).from_json(payload)


def order_placed(**overrides) -> OrderPlaced:
    fields: dict[str, Any] = dict(
        ENVELOPE,
        order_id=42,
        customer_id=7,
        customer_phone="+393331234567",
        items=[
            OrderItemLine(
                pizza="Margherita",
                size="large",
                toppings=["basil", "extra mozzarella"],
                quantity=2,
                unit_price=Decimal("12.50"),
                pizza_id=1,
            ),
            OrderItemLine(
                pizza="Marinara", size="small", toppings=[], quantity=1, unit_price=Decimal("7.10")
            ),
        ],
        total_amount=Decimal("32.10"),
        fulfilment="delivery",
        delivery_address="Via Roma 1, Milano",
        estimated_delivery_time=WHEN + dt.timedelta(minutes=45),
        estimated_ready_time=dt.datetime(2025, 3, 30, 0, 30, tzinfo=dt.UTC),
    )
    fields.update(overrides)
    return OrderPlaced(**fields)


CATALOGUE = [
    order_placed(),
    order_placed(
        estimated_delivery_time=None, estimated_ready_time=None, fulfilment="pickup", delivery_address=""
    ),
    PaymentProcessed(**ENVELOPE, order_id=42, amount=Decimal("32.10"), method="card", reference="pi_123"),
    OrderCookingStarted(**ENVELOPE, order_id=42, estimated_ready_time=WHEN, started_by="luigi"),
    OrderReady(
        **ENVELOPE,
        order_id=42,
        customer_id=7,
        customer_phone="+393331234567",
        preparation_time=dt.timedelta(minutes=12, seconds=30, microseconds=250000),
        pickup_instructions="Counter 2",
    ),
    OrderOutForDelivery(**ENVELOPE, order_id=42, driver="Toad", estimated_delivery_time=WHEN),
    OrderDelivered(**ENVELOPE, order_id=42, delivered_at=WHEN, delivery_duration=dt.timedelta(minutes=31)),
    OrderDelivered(**ENVELOPE, order_id=42, delivered_at=WHEN, delivery_duration=None, fulfilment="pickup"),
    OrderCancelled(**ENVELOPE, order_id=42, reason="customer called", cancelled_by="staff:mario"),
    ProbeHappened(**ENVELOPE, behaviour="transient:2"),
]


@pytest.mark.parametrize("event", CATALOGUE, ids=lambda e: e.name)
def test_json_round_trip_is_lossless(event):
    # when
    back = round_trip(event)
    # then
    assert type(back) is type(event)
    assert back == event


def test_round_trip_keeps_value_types():
    back = round_trip(order_placed())

    assert isinstance(back.event_id, uuid.UUID)
    assert isinstance(back.total_amount, Decimal) and str(back.total_amount) == "32.10"
    assert isinstance(back.items[0], OrderItemLine)
    assert isinstance(back.items[0].unit_price, Decimal) and str(back.items[1].unit_price) == "7.10"
    assert back.items[0].toppings == ["basil", "extra mozzarella"]
    assert back.occurred_at.utcoffset() == WHEN.utcoffset()
    assert back.occurred_at.microsecond == 123456
    assert back.estimated_ready_time.tzinfo is not None


def test_decimal_is_stored_as_a_string_not_a_float():
    payload = order_placed().to_json()

    assert payload["total_amount"] == "32.10"
    assert payload["items"][0]["unit_price"] == "12.50"


def test_none_optionals_stay_none():
    back = round_trip(order_placed(estimated_delivery_time=None, estimated_ready_time=None))

    assert back.estimated_delivery_time is None
    assert back.estimated_ready_time is None


def test_older_payload_without_new_fields_gets_defaults():
    payload = order_placed().to_json()
    for added in ("estimated_ready_time", "customer_email", "notes"):
        del payload[added]

    back = OrderPlaced.from_json(payload)

    assert back.estimated_ready_time is None and back.customer_email == "" and back.notes == ""


def test_data_leaves_out_the_envelope():
    data = PaymentProcessed(
        **ENVELOPE, order_id=1, amount=Decimal("1.00"), method="cash", reference=""
    ).data()

    assert set(data) == {"order_id", "amount", "method", "reference"}


def test_naive_datetime_is_rejected():
    event = OrderCookingStarted(
        **{**ENVELOPE, "occurred_at": dt.datetime(2025, 1, 1, 12, 0)},
        order_id=1,
        estimated_ready_time=WHEN,
        started_by="x",
    )

    with pytest.raises(ValueError, match="timezone-aware"):
        event.to_json()


def test_orm_object_in_payload_is_rejected():
    event = ProbeHappened(behaviour=object())  # type: ignore[arg-type]

    with pytest.raises(TypeError):
        event.to_json()


def test_event_types_are_cloudevents_types_and_unique():
    assert OrderPlaced.type == "com.mariopizzeria.order.placed"
    assert event_class("com.mariopizzeria.order.placed") is OrderPlaced
    with pytest.raises(LookupError):
        event_class("com.mariopizzeria.nope")
