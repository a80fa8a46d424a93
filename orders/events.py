"""The order events (CloudEvents types com.mariopizzeria.order.*). Fields follow the seed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from eventbus import DomainEvent


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
    public = True
    contact_fields = ("customer_phone", "customer_email", "delivery_address", "notes")
    field_docs = {
        "order_id": "The order's id.",
        "customer_id": "The customer's id (opaque; no contact data).",
        "customer_phone": "Contact data: E.164 phone number, only for subscriptions allowed it.",
        "items": "What was ordered: pizza, size, toppings, quantity and menu unit price.",
        "total_amount": "Order total, 2 decimal places.",
        "fulfilment": "delivery or pickup.",
        "delivery_address": "Contact data: delivery address, only for subscriptions allowed it.",
        "estimated_delivery_time": "When the order should arrive (delivery orders).",
        "estimated_ready_time": "When the kitchen expects it ready.",
        "customer_email": "Contact data: e-mail address, only for subscriptions allowed it.",
        "notes": "Contact data: the customer's free-text note, only for subscriptions allowed it.",
    }
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
    public = True
    field_docs = {
        "order_id": "The order's id.",
        "amount": "Amount paid, 2 decimal places.",
        "method": "card, cash or online.",
        "reference": "The payment provider's reference, if any.",
    }
    order_id: int
    amount: Decimal
    method: str
    reference: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderCookingStarted(DomainEvent):
    type = "com.mariopizzeria.order.cooking_started"
    public = True
    internal_fields = ("started_by",)  # a staff username
    field_docs = {"order_id": "The order's id.", "estimated_ready_time": "When the kitchen expects it ready."}
    order_id: int
    estimated_ready_time: dt.datetime
    started_by: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderReady(DomainEvent):
    type = "com.mariopizzeria.order.ready"
    public = True
    contact_fields = ("customer_phone",)
    field_docs = {
        "order_id": "The order's id.",
        "customer_id": "The customer's id (opaque; no contact data).",
        "customer_phone": "Contact data: E.164 phone number, only for subscriptions allowed it.",
        "preparation_time": "Seconds from cooking start to ready.",
        "pickup_instructions": "Where to collect it (pickup orders).",
        "fulfilment": "delivery or pickup.",
    }
    order_id: int
    customer_id: int
    customer_phone: str
    preparation_time: dt.timedelta
    pickup_instructions: str
    fulfilment: str = "delivery"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderOutForDelivery(DomainEvent):
    type = "com.mariopizzeria.order.out_for_delivery"
    public = True
    internal_fields = ("driver",)  # a staff username
    field_docs = {"order_id": "The order's id.", "estimated_delivery_time": "When the order should arrive."}
    order_id: int
    driver: str
    estimated_delivery_time: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderDelivered(DomainEvent):
    type = "com.mariopizzeria.order.delivered"
    public = True
    field_docs = {
        "order_id": "The order's id.",
        "delivered_at": "When it was delivered or collected.",
        "delivery_duration": "Seconds on the road (null for pickup).",
        "fulfilment": "delivery or pickup (collected at the counter).",
    }
    order_id: int
    delivered_at: dt.datetime
    delivery_duration: dt.timedelta | None
    fulfilment: str = "delivery"  # "pickup": collected at the counter, no delivery_duration


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderCancelled(DomainEvent):
    type = "com.mariopizzeria.order.cancelled"
    public = True
    internal_fields = ("cancelled_by",)  # a username: staff or the customer
    field_docs = {"order_id": "The order's id.", "reason": "Why it was cancelled."}
    order_id: int
    reason: str
    cancelled_by: str
