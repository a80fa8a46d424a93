"""Analytics handlers: each event fills in its columns of the order's fact row."""

from analytics.services import order_fact_update
from eventbus import event_handler
from orders.events import (
    OrderCancelled,
    OrderCookingStarted,
    OrderDelivered,
    OrderPlaced,
    OrderReady,
    PaymentProcessed,
)
from orders.models import Order


@event_handler(OrderPlaced, queue="analytics")
def order_metrics(event: OrderPlaced) -> None:
    order_fact_update(
        order_id=event.order_id,
        customer_id=event.customer_id,
        placed_at=event.occurred_at,
        total_amount=event.total_amount,
        item_count=sum(item.quantity for item in event.items),
        fulfilment=event.fulfilment,
        promised_at=event.estimated_delivery_time
        if event.fulfilment == Order.Fulfilment.DELIVERY
        else event.estimated_ready_time,
        items=[
            {"pizza": i.pizza, "size": i.size, "toppings": list(i.toppings), "quantity": i.quantity}
            for i in event.items
        ],
    )


@event_handler(PaymentProcessed, queue="analytics")
def revenue_metrics(event: PaymentProcessed) -> None:
    order_fact_update(
        order_id=event.order_id,
        paid_amount=event.amount,
        payment_method=event.method,
        paid_at=event.occurred_at,
    )


@event_handler(OrderCookingStarted, queue="analytics")
def cooking_metrics(event: OrderCookingStarted) -> None:
    order_fact_update(order_id=event.order_id, cooking_started_at=event.occurred_at)


@event_handler(OrderReady, queue="analytics")
def preparation_metrics(event: OrderReady) -> None:
    order_fact_update(
        order_id=event.order_id,
        ready_at=event.occurred_at,
        preparation_seconds=event.preparation_time.total_seconds(),
    )


@event_handler(OrderDelivered, queue="analytics")
def delivery_metrics(event: OrderDelivered) -> None:
    order_fact_update(
        order_id=event.order_id,
        delivered_at=event.delivered_at,
        delivery_seconds=event.delivery_duration.total_seconds() if event.delivery_duration else None,
    )


@event_handler(OrderCancelled, queue="analytics")
def cancellation_metrics(event: OrderCancelled) -> None:
    order_fact_update(order_id=event.order_id, cancelled_at=event.occurred_at, cancel_reason=event.reason)
