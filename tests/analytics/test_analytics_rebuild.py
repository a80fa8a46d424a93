"""`manage.py analytics_rebuild`: the facts and rollups from the orders' rows, as the events gave them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.models import DailyRollup, OrderFact
from orders import services
from tests.analytics.test_handlers import ANALYTICS
from tests.capture import capture_events
from tests.factories import advance_order, make_order

pytestmark = pytest.mark.django_db


def test_analytics_rebuild_recomputes_facts_and_rollups_idempotently():
    # placed_at too, but the event's time is a few ms after the order row's: compared apart below
    columns = [
        "order_id",
        "total_amount",
        "item_count",
        "fulfilment",
        "paid_amount",
        "ready_at",
        "preparation_seconds",
        "delivered_at",
        "delivery_seconds",
        "cancelled_at",
        "cancel_reason",
        "promised_at",
        "items",
    ]
    with capture_events(only=ANALYTICS):
        advance_order(make_order(), "delivered")
        advance_order(make_order(fulfilment="pickup", delivery_address=""), "delivered")
        services.order_cancel(order_id=make_order(status="paid").pk, actor="staff", reason="Changed mind")
    from_events = list(OrderFact.objects.order_by("order_id").values_list(*columns))
    placed_from_events = list(OrderFact.objects.order_by("order_id").values_list("placed_at", flat=True))
    OrderFact.objects.all().delete()
    DailyRollup.objects.create(day=dt.date(2001, 1, 1), orders=99)  # a day with no orders any more

    call_command("analytics_rebuild")
    first = list(OrderFact.objects.order_by("order_id").values_list(*columns))
    rollups = list(DailyRollup.objects.values_list("day", "orders", "cancelled", "revenue", "refunds"))
    call_command("analytics_rebuild")

    assert first == from_events  # the orders' rows give what the events gave
    placed = OrderFact.objects.order_by("order_id").values_list("placed_at", flat=True)
    assert all(abs(a - b) < dt.timedelta(seconds=1) for a, b in zip(placed, placed_from_events, strict=True))
    assert list(OrderFact.objects.order_by("order_id").values_list(*columns)) == first
    assert (
        list(DailyRollup.objects.values_list("day", "orders", "cancelled", "revenue", "refunds")) == rollups
    )
    ((day, orders, cancelled, revenue, refunds),) = rollups
    assert (day, orders, cancelled) == (timezone.localdate(), 3, 1)
    assert refunds == Decimal("31.18") and revenue == Decimal("62.36")
