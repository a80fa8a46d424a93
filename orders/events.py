"""The order events (CloudEvents types com.mariopizzeria.order.*). Fields follow the seed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from pizzeria.eventbus import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderItemLine:
    pizza: str
    size: str
    toppings: list[str]
    quantity: int
    unit_price: Decimal
    pizza_id: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderPlaced(DomainEvent):
    type = "com.mariopizzeria.order.placed"
    order_id: int
    customer_id: int
    customer_phone: str
    items: list[OrderItemLine]
    total_amount: Decimal
    fulfilment: str
    delivery_address: str
    estimated_delivery_time: dt.datetime | None
    # Added beyond the seed fields (defaults keep older payloads readable):
    estimated_ready_time: dt.datetime | None = None
    customer_email: str = ""
    notes: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentProcessed(DomainEvent):
    type = "com.mariopizzeria.order.payment_processed"
    order_id: int
    amount: Decimal
    method: str
    reference: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderCookingStarted(DomainEvent):
    type = "com.mariopizzeria.order.cooking_started"
    order_id: int
    estimated_ready_time: dt.datetime
    started_by: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderReady(DomainEvent):
    type = "com.mariopizzeria.order.ready"
    order_id: int
    customer_id: int
    customer_phone: str
    preparation_time: dt.timedelta
    pickup_instructions: str
    fulfilment: str = "delivery"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderOutForDelivery(DomainEvent):
    type = "com.mariopizzeria.order.out_for_delivery"
    order_id: int
    driver: str
    estimated_delivery_time: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderDelivered(DomainEvent):
    type = "com.mariopizzeria.order.delivered"
    order_id: int
    delivered_at: dt.datetime
    delivery_duration: dt.timedelta | None
    fulfilment: str = "delivery"  # "pickup": collected at the counter, no delivery_duration


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderCancelled(DomainEvent):
    type = "com.mariopizzeria.order.cancelled"
    order_id: int
    reason: str
    cancelled_by: str
