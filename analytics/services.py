"""Analytics writes: fact rows (from events, or rebuilt from the orders) and daily rollups."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import DailyRollup, OrderFact
from orders import selectors as order_selectors
from orders.estimates import delivery_estimate, prep_estimate

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")


def order_fact_update(*, order_id: int, **fields) -> None:
    """Set columns of an order's fact row, creating it if this is the first event to arrive."""
    OrderFact.objects.update_or_create(order_id=order_id, defaults=fields)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a day in the pizzeria's time zone (settings.TIME_ZONE)."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=start.tzinfo)


def rollup_values(*, day: dt.date) -> dict:
    """One day's rollup computed from the fact rows, without writing anything.

    Revenue is net of refunds: an order paid and then cancelled is owed back (refund due), so its
    payment counts under `refunds`, not `revenue`.
    """
    start, end = day_bounds(day)
    agg = OrderFact.objects.filter(placed_at__gte=start, placed_at__lt=end).aggregate(
        orders=Count("pk"),
        cancelled=Count("pk", filter=Q(cancelled_at__isnull=False)),
        revenue=Sum("paid_amount", filter=Q(cancelled_at__isnull=True)),
        refunds=Sum("paid_amount", filter=Q(cancelled_at__isnull=False)),
        average_order_value=Avg("total_amount", filter=Q(cancelled_at__isnull=True)),
        average_preparation_seconds=Avg("preparation_seconds"),
        average_delivery_seconds=Avg("delivery_seconds"),
    )
    aov = agg["average_order_value"]
    return {
        **agg,
        "revenue": agg["revenue"] or Decimal("0"),
        "refunds": agg["refunds"] or Decimal("0"),
        "average_order_value": Decimal(aov).quantize(CENT) if aov is not None else None,
    }


def rollup_day(*, day: dt.date) -> DailyRollup:
    """Recompute one day's rollup from the fact rows (idempotent)."""
    rollup, _ = DailyRollup.objects.update_or_create(day=day, defaults=rollup_values(day=day))
    return rollup


def rollup_recent(*, days: int = 2) -> list[DailyRollup]:
    today = timezone.localdate()
    return [rollup_day(day=today - dt.timedelta(days=n)) for n in range(days)]


def _fact_from_order(order) -> dict:
    items = list(order.items.all())
    pizzas = sum(i.quantity for i in items)
    delivery = order.fulfilment == "delivery"
    # The promise made at placement, recomputed the way order_place computed it (the order row's
    # own estimates move on as the kitchen works, and the OrderPlaced row may be purged).
    promised = order.placed_at + prep_estimate(pizzas=pizzas) + (delivery_estimate() if delivery else dt.timedelta())
    paid = order.payment_status in ("paid", "refund_due")
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
