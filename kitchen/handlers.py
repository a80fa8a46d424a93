"""Event handlers of the kitchen app (registered at app ready).

Each runs inside its delivery's transaction; the services they call are idempotent, so a
redelivered event changes nothing twice. Order events the display shows also publish a board
change note (the orders app never imports the kitchen: it does not know anyone listens).
"""

from __future__ import annotations

from eventbus import event_handler
from kitchen import services
from kitchen.events import InventoryLow
from orders.events import (
    OrderCancelled,
    OrderCookingStarted,
    OrderDelivered,
    OrderOutForDelivery,
    OrderPlaced,
    OrderReady,
)


def _items(event: OrderPlaced) -> list[dict]:
    return [
        {
            "pizza": i.pizza,
            "pizza_id": i.pizza_id,
            "size": i.size,
            "toppings": list(i.toppings),
            "quantity": i.quantity,
        }
        for i in event.items
    ]


@event_handler(OrderPlaced, queue="kitchen")
def ticket_create(event: OrderPlaced) -> None:
    services.ticket_create(
        order_id=event.order_id,
        items=_items(event),
        fulfilment=event.fulfilment,
        delivery_address=event.delivery_address,
        customer_phone=event.customer_phone,
        notes=event.notes,
        placed_at=event.occurred_at,
    )


@event_handler(OrderPlaced, queue="inventory")
def ingredients_consume(event: OrderPlaced) -> None:
    services.ingredients_consume(order_id=event.order_id, items=_items(event))


@event_handler(OrderCookingStarted, queue="kitchen")
def ticket_cooking_started(event: OrderCookingStarted) -> None:
    services.ticket_on_cooking_started(order_id=event.order_id)


@event_handler(OrderReady, queue="kitchen")
def ticket_ready_start_next(event: OrderReady) -> None:
    services.ticket_on_order_ready(order_id=event.order_id)


@event_handler(OrderOutForDelivery, queue="kitchen")
def ticket_out_for_delivery(event: OrderOutForDelivery) -> None:
    services.ticket_on_dispatch(order_id=event.order_id)


@event_handler(OrderDelivered, queue="kitchen")
def ticket_delivered(event: OrderDelivered) -> None:
    services.ticket_on_dispatch(order_id=event.order_id)


@event_handler(OrderCancelled, queue="kitchen")
def ticket_cancel(event: OrderCancelled) -> None:
    services.ticket_cancel(order_id=event.order_id, reason=event.reason)


@event_handler(OrderCancelled, queue="inventory")
def ingredients_release(event: OrderCancelled) -> None:
    services.ingredients_release(order_id=event.order_id)


@event_handler(InventoryLow, queue="inventory")
def restock_request(event: InventoryLow) -> None:
    services.restock_request(ingredient_id=event.ingredient_id, trigger_event_id=event.event_id)
