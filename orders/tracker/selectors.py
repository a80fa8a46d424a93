"""What the tracker shows of an order: its steps, times and promise, and nothing else.

No staff names (who cooked, which driver), no phone, e-mail, name or notes, and of the delivery
address only the street: the link travels by SMS and may be forwarded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal

from orders.models import Order, OrderItem

S = Order.Status
FINAL = (S.DELIVERED, S.CANCELLED)
# (status, label, timestamp field) in the order a customer sees them.
_DELIVERY_STEPS = [
    (S.PLACED, "Order placed", "placed_at"),
    (S.COOKING, "In the oven", "cooking_started_at"),
    (S.READY, "Ready", "ready_at"),
    (S.OUT_FOR_DELIVERY, "Out for delivery", "out_for_delivery_at"),
    (S.DELIVERED, "Delivered", "delivered_at"),
]
_PICKUP_STEPS = [
    (S.PLACED, "Order placed", "placed_at"),
    (S.COOKING, "In the oven", "cooking_started_at"),
    (S.READY, "Ready for pickup", "ready_at"),
    (S.DELIVERED, "Collected", "delivered_at"),
]
# Where each status sits on the path (paid is still "placed" for the customer).
_POSITION: dict[str, int] = {
    S.PLACED: 0,
    S.PAID: 0,
    S.COOKING: 1,
    S.READY: 2,
    S.OUT_FOR_DELIVERY: 3,
    S.DELIVERED: 4,
}


@dataclasses.dataclass(frozen=True)
class Step:
    status: str
    label: str
    at: dt.datetime | None
    state: str  # "done", "current" or "todo"


@dataclasses.dataclass(frozen=True)
class TrackedOrder:
    order_id: int
    status: str
    status_label: str
    fulfilment: str
    steps: list[Step]
    items: list[str]
    total: Decimal
    paid: bool
    refund_due: bool
    street: str
    eta_label: str
    eta: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str
    final: bool


def street_only(address: str) -> str:
    """'12 Via Roma, Springfield 12345' → '12 Via Roma': the first line, up to its first comma."""
    first_line = (address or "").strip().splitlines()[0] if (address or "").strip() else ""
    return re.split(r"[,;]", first_line, maxsplit=1)[0].strip()


def _eta(order: Order) -> tuple[str, dt.datetime | None]:
    if order.status in FINAL:
        return "", None
    if order.fulfilment == Order.Fulfilment.DELIVERY:
        return "Estimated delivery", order.estimated_delivery_time
    if order.status == S.READY:
        return "", None
    return "Ready for pickup at about", order.estimated_ready_time


def tracked_order(*, order: Order) -> TrackedOrder:
    delivery = order.fulfilment == Order.Fulfilment.DELIVERY
    path = _DELIVERY_STEPS if delivery else _PICKUP_STEPS
    current = _POSITION.get(order.status, 0)
    if not delivery and order.status == S.DELIVERED:
        current = 3
    steps = []
    for n, (status, label, at_field) in enumerate(path):
        if order.status == S.CANCELLED:
            state = "done" if n == 0 else "todo"
        elif order.status == S.DELIVERED:
            state = "done"
        else:
            state = "done" if n < current else "current" if n == current else "todo"
        steps.append(Step(status=status, label=label, at=getattr(order, at_field), state=state))
    eta_label, eta = _eta(order)
    return TrackedOrder(
        order_id=order.pk,
        status=order.status,
        status_label=order.get_status_display(),
        fulfilment=order.fulfilment,
        steps=steps,
        items=[_item_line(i) for i in order.items.all()],
        total=order.total_amount,
        paid=order.payment_status == Order.PaymentStatus.PAID,
        refund_due=order.payment_status == Order.PaymentStatus.REFUND_DUE,
        street=street_only(order.delivery_address) if delivery else "",
        eta_label=eta_label,
        eta=eta,
        cancelled_at=order.cancelled_at,
        cancel_reason=order.cancel_reason,
        final=order.status in FINAL,
    )


def _item_line(item: OrderItem) -> str:
    toppings = f" + {', '.join(item.toppings)}" if item.toppings else ""
    return f"{item.quantity} × {item.size.name} {item.pizza.name}{toppings}"
