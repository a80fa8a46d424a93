from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from analytics.models import DailyRollup, OrderFact


def order_fact_update(*, order_id: int, **fields) -> None:
    """Set columns of an order's fact row, creating it if this is the first event to arrive."""
    OrderFact.objects.update_or_create(order_id=order_id, defaults=fields)


def rollup_day(*, day: dt.date) -> DailyRollup:
    """Recompute one day's rollup from the fact rows (idempotent)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    facts = OrderFact.objects.filter(placed_at__gte=start, placed_at__lt=start + dt.timedelta(days=1))
    agg = facts.aggregate(
        orders=Count("pk"),
        cancelled=Count("pk", filter=Q(cancelled_at__isnull=False)),
        revenue=Sum("paid_amount"),
        average_order_value=Avg("total_amount"),
        average_preparation_seconds=Avg("preparation_seconds"),
        average_delivery_seconds=Avg("delivery_seconds"),
    )
    aov = agg["average_order_value"]
    rollup, _ = DailyRollup.objects.update_or_create(
        day=day,
        defaults={
            **agg,
            "revenue": agg["revenue"] or Decimal("0"),
            "average_order_value": Decimal(aov).quantize(Decimal("0.01")) if aov is not None else None,
        },
    )
    return rollup


def rollup_recent(*, days: int = 2) -> list[DailyRollup]:
    today = timezone.localdate()
    return [rollup_day(day=today - dt.timedelta(days=n)) for n in range(days)]
