import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics import handlers
from analytics.models import OrderFact
from analytics.services import rollup_day
from eventbus.delivery import delivery_run
from eventbus.models import Delivery
from orders import services
from tests.capture import capture_events
from tests.factories import advance_order, make_order

pytestmark = pytest.mark.django_db

ANALYTICS = [
    f"analytics.handlers.{name}"
    for name in (
        "order_metrics",
        "revenue_metrics",
        "cooking_metrics",
        "preparation_metrics",
        "delivery_metrics",
        "cancellation_metrics",
    )
]


def test_an_order_lifecycle_fills_its_fact_row():
    with capture_events(only=ANALYTICS):
        order = make_order(fulfilment="delivery")
        advance_order(order, "delivered")

    fact = OrderFact.objects.get(order_id=order.pk)
    assert fact.total_amount == Decimal("31.18")
    assert fact.item_count == 2
    assert fact.fulfilment == "delivery"
    assert fact.paid_amount == Decimal("31.18")
    assert fact.placed_at <= fact.cooking_started_at <= fact.ready_at <= fact.delivered_at
    assert fact.preparation_seconds is not None and fact.preparation_seconds >= 0
    assert fact.delivery_seconds is not None and fact.delivery_seconds >= 0
    assert fact.cancelled_at is None


def test_redelivered_event_changes_nothing():
    with capture_events(only=["analytics.handlers.order_metrics"]) as captured:
        order = make_order()
    delivery = captured.deliveries("analytics.handlers.order_metrics")[0]
    before = OrderFact.objects.get(order_id=order.pk)

    # a replayed delivery runs the handler again
    Delivery.objects.filter(pk=delivery.pk).update(status="pending", next_attempt_at=timezone.now())
    assert delivery_run(delivery.pk) == "succeeded"

    assert OrderFact.objects.count() == 1
    after = OrderFact.objects.get(order_id=order.pk)
    assert (after.total_amount, after.item_count, after.placed_at) == (
        before.total_amount,
        before.item_count,
        before.placed_at,
    )


def test_every_analytics_handler_is_registered_on_the_analytics_queue():
    from eventbus import registry

    for name in ANALYTICS:
        assert registry.handler(name).queue == "analytics"
    assert handlers.order_metrics is registry.handler(ANALYTICS[0]).func


def test_daily_rollup_counts_revenue_and_cancellations():
    with capture_events(only=ANALYTICS):
        paid = make_order()
        services.order_pay(order_id=paid.pk, method="card", reference="r1", actor="staff")
        cancelled = make_order()
        services.order_cancel(order_id=cancelled.pk, actor="staff", reason="changed mind")

    rollup = rollup_day(day=timezone.localdate())

    assert rollup.orders == 2
    assert rollup.cancelled == 1
    assert rollup.revenue == Decimal("31.18")  # the cancelled order was never paid
    assert rollup.average_order_value == Decimal("31.18")  # of the orders not cancelled
    # an empty day is all zeros, not an error
    empty = rollup_day(day=timezone.localdate() - dt.timedelta(days=30))
    assert (empty.orders, empty.revenue, empty.average_order_value) == (0, Decimal("0"), None)


def test_cancellation_records_the_reason_and_placement_the_promise():
    with capture_events(only=ANALYTICS):
        order = make_order()
        services.order_cancel(order_id=order.pk, actor="staff", reason="Ordered twice")
    fact = OrderFact.objects.get(order_id=order.pk)
    assert fact.cancel_reason == "Ordered twice"
    assert fact.promised_at == order.estimated_delivery_time
    assert fact.items == [{"pizza": "Margherita", "size": "large", "toppings": ["mushrooms"], "quantity": 2}]
