"""Analytics writes: fact rows (from events, or rebuilt from the orders) and daily rollups."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import DailyRollup, OrderFact
from analytics.selectors import rollup_values
from orders import selectors as order_selectors
from orders.estimates import delivery_estimate, prep_estimate
from orders.models import Order

logger = logging.getLogger(__name__)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # a column the caller leaves as it is (None is a value: NULL)


def order_fact_update(
    *,
    order_id: int,
    customer_id: int | None = UNSET,
    placed_at: dt.datetime | None = UNSET,
    total_amount: Decimal | None = UNSET,
    item_count: int | None = UNSET,
    fulfilment: str = UNSET,
    paid_amount: Decimal | None = UNSET,
    payment_method: str = UNSET,
    paid_at: dt.datetime | None = UNSET,
    cooking_started_at: dt.datetime | None = UNSET,
    ready_at: dt.datetime | None = UNSET,
    preparation_seconds: float | None = UNSET,
    delivered_at: dt.datetime | None = UNSET,
    delivery_seconds: float | None = UNSET,
    cancelled_at: dt.datetime | None = UNSET,
    cancel_reason: str = UNSET,
    promised_at: dt.datetime | None = UNSET,
    items: list[dict] = UNSET,
) -> None:
    """Set the given columns of an order's fact row, creating it if this is the first event to
    arrive; the columns not given keep their values."""
    # The arguments are the row's columns by name: every one given (not UNSET) is written.
    given = {name: value for name, value in locals().items() if name != "order_id" and value is not UNSET}
    OrderFact.objects.update_or_create(order_id=order_id, defaults=given)


def rollup_day(*, day: dt.date) -> DailyRollup:
    """Recompute one day's rollup from the fact rows (idempotent)."""
    rollup, _ = DailyRollup.objects.update_or_create(day=day, defaults=rollup_values(day=day))
    return rollup


def rollup_recent(*, days: int = 2) -> list[DailyRollup]:
    today = timezone.localdate()
    return [rollup_day(day=today - dt.timedelta(days=n)) for n in range(days)]


def _fact_from_order(order: Order) -> dict:
    items = list(order.items.all())
    pizzas = sum(i.quantity for i in items)
    delivery = order.fulfilment == Order.Fulfilment.DELIVERY
    # The promise made at placement, recomputed the way order_place computed it (the order row's
    # own estimates move on as the kitchen works, and the OrderPlaced row may be purged).
    promised = (
        order.placed_at + prep_estimate(pizzas=pizzas) + (delivery_estimate() if delivery else dt.timedelta())
    )
    paid = order.payment_status in (Order.PaymentStatus.PAID, Order.PaymentStatus.REFUND_DUE)
    seconds = lambda a, b: (b - a).total_seconds() if a and b else None  # noqa: E731
    return {
        "customer_id": order.customer_id,
        "placed_at": order.placed_at,
        "total_amount": order.total_amount,
        "item_count": pizzas,
        "fulfilment": order.fulfilment,
        "paid_amount": order.total_amount if paid else None,
        "payment_method": order.payment_method,
        "paid_at": order.paid_at,
        "cooking_started_at": order.cooking_started_at,
        "ready_at": order.ready_at,
        "preparation_seconds": seconds(order.cooking_started_at, order.ready_at),
        "delivered_at": order.delivered_at,
        "delivery_seconds": seconds(order.out_for_delivery_at, order.delivered_at),
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason,
        "promised_at": promised,
        "items": [
            {"pizza": i.pizza.name, "size": i.size.code, "toppings": list(i.toppings), "quantity": i.quantity}
            for i in items
        ],
    }


def analytics_rebuild(*, facts: bool = True) -> dict:
    """Recompute the fact rows from the orders (the raw rows) and every day's rollup from the facts.

    Idempotent: running it twice leaves the same rows. Facts come from the orders' own columns, so
    an analytics delivery that died, or a column added after the event, is filled in.
    """
    counts = {"facts": 0, "days": 0}
    with transaction.atomic():
        if facts:
            for order in order_selectors.orders_with_items():
                order_fact_update(order_id=order.pk, **_fact_from_order(order))
                counts["facts"] += 1
        days = set(
            OrderFact.objects.filter(placed_at__isnull=False)
            .annotate(day=TruncDate("placed_at", tzinfo=timezone.get_current_timezone()))
            .values_list("day", flat=True)
            .distinct()
        )
        DailyRollup.objects.exclude(day__in=days).delete()  # days whose orders are gone
        for day in sorted(days):
            rollup_day(day=day)
        counts["days"] = len(days)
    logger.info("Analytics rebuilt: %(facts)s facts, %(days)s days", counts)
    return counts
