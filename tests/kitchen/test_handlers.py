"""Kitchen handlers through the in-memory bus helper (real delivery rows, no broker)."""

from decimal import Decimal

import pytest

from eventbus import registry
from eventbus.delivery import delivery_run
from eventbus.models import Delivery, OutboxEvent
from kitchen import handlers, services
from kitchen.events import InventoryLow
from kitchen.models import KitchenTicket, OrderConsumption, PurchaseOrder, StockMovement
from orders import services as order_services
from orders.events import OrderCookingStarted, OrderPlaced
from orders.models import Order
from tests.capture import capture_events
from tests.factories import make_order
from tests.kitchen.conftest import KITCHEN_HANDLERS, one_margherita

pytestmark = pytest.mark.django_db


def place(menu, **kwargs) -> Order:
    kwargs.setdefault("items", one_margherita(menu))
    with capture_events(only=KITCHEN_HANDLERS):
        order = make_order(**kwargs)
    return order


def ticket(order: Order) -> KitchenTicket:
    return KitchenTicket.objects.get(order_id=order.pk)


def statuses(*orders: Order) -> list[str]:
    return [ticket(o).status for o in orders]


def test_order_placed_creates_a_ticket_and_starts_cooking(kitchen_menu):
    # when
    with capture_events(only=KITCHEN_HANDLERS) as captured:
        order = make_order(items=one_margherita(kitchen_menu, quantity=2, toppings=["mushrooms"]))
    # then
    t = ticket(order)
    assert t.status == "cooking" and t.started_by == "kitchen"
    assert t.items == [
        {
            "pizza": "Margherita",
            "pizza_id": kitchen_menu["pizzas"]["Margherita"].pk,
            "size": "medium",
            "toppings": ["mushrooms"],
            "quantity": 2,
        }
    ]
    assert t.shortages == []
    order.refresh_from_db()
    assert order.status == "cooking"
    (started,) = captured.of_type(OrderCookingStarted)
    assert started.estimated_ready_time == t.estimated_ready_time == order.estimated_ready_time
    assert t.estimated_ready_time - t.started_at == t.estimated_prep_time


def test_capacity_limits_cooking_tickets(kitchen_menu, settings):
    settings.KITCHEN_CAPACITY = 2
    orders = [place(kitchen_menu) for _ in range(3)]
    assert statuses(*orders) == ["cooking", "cooking", "queued"]
    assert [Order.objects.get(pk=o.pk).status for o in orders] == ["cooking", "cooking", "placed"]


def test_ready_starts_the_next_ticket_by_priority_then_age(kitchen_menu, settings):
    settings.KITCHEN_CAPACITY = 1
    first = place(kitchen_menu)
    older_delivery = place(kitchen_menu)
    newer_pickup = place(kitchen_menu, fulfilment="pickup")  # priority 1
    newest_delivery = place(kitchen_menu)
    assert statuses(first, older_delivery, newer_pickup, newest_delivery) == [
        "cooking",
        "queued",
        "queued",
        "queued",
    ]

    # when the cook marks the first ready, OrderReady's handler fills the slot
    with capture_events(only=KITCHEN_HANDLERS):
        services.ticket_mark_ready(ticket_id=ticket(first).pk, actor="cook")
    assert statuses(first, older_delivery, newer_pickup, newest_delivery) == [
        "ready",
        "queued",
        "cooking",
        "queued",
    ]
    assert ticket(first).finished_by == "cook"

    # when an order is marked ready elsewhere (the admin), the kitchen follows too
    with capture_events(only=KITCHEN_HANDLERS):
        order_services.order_mark_ready(order_id=newer_pickup.pk, actor="manager")
    assert statuses(older_delivery, newer_pickup, newest_delivery) == ["cooking", "ready", "queued"]


def test_ticket_creation_is_idempotent_under_redelivery(kitchen_menu):
    with capture_events(only=KITCHEN_HANDLERS) as captured:
        order = make_order(items=one_margherita(kitchen_menu))
    (create,) = captured.deliveries("kitchen.handlers.ticket_create")
    (consume,) = captured.deliveries("kitchen.handlers.ingredients_consume")
    dough_after_first = (
        kitchen_menu["dough"].__class__.objects.get(pk=kitchen_menu["dough"].pk).quantity_on_hand
    )

    # a duplicate message finds the delivery done
    assert delivery_run(create.pk) == "skipped"
    # a redelivery (e.g. after a lost lease) runs the handlers again
    Delivery.objects.filter(pk__in=[create.pk, consume.pk]).update(status="pending")
    assert delivery_run(create.pk) == delivery_run(consume.pk) == "succeeded"
    # and so does calling the handlers directly with the same event
    event = OrderPlaced.from_json(OutboxEvent.objects.get(pk=create.event_id).payload)
    handlers.ticket_create(event)
    handlers.ingredients_consume(event)

    assert KitchenTicket.objects.filter(order_id=order.pk).count() == 1
    assert ticket(order).status == "cooking"
    assert StockMovement.objects.filter(order_id=order.pk, kind="consume").count() == 2  # dough, cheese
    dough = kitchen_menu["dough"].__class__.objects.get(pk=kitchen_menu["dough"].pk)
    assert dough.quantity_on_hand == dough_after_first == Decimal("100000") - Decimal("250")
    assert OrderCookingStarted.type in [e.type for e in captured.recorded]
    assert [e.type for e in captured.recorded].count(OrderCookingStarted.type) == 1


def test_consumption_scales_by_size_quantity_and_toppings(kitchen_menu):
    place(kitchen_menu, items=one_margherita(kitchen_menu, size="large", quantity=2, toppings=["mushrooms"]))
    for key, used in (("dough", "725"), ("cheese", "290"), ("mushrooms", "145")):  # × 1.45 × 2
        ing = kitchen_menu[key]
        ing.refresh_from_db()
        assert ing.quantity_on_hand == Decimal("100000") - Decimal(used), key


def test_threshold_crossing_records_one_inventory_low_and_one_restock_request(kitchen_menu):
    dough = kitchen_menu["dough"]
    dough.quantity_on_hand, dough.minimum_threshold, dough.reorder_quantity = (
        Decimal("1400"),
        Decimal("1000"),
        Decimal("5000"),
    )
    dough.save()

    # when three orders take 250 g each: 1400 → 1150 → 900 (crossing) → 650
    with capture_events(only=KITCHEN_HANDLERS) as captured:
        for _ in range(3):
            make_order(items=one_margherita(kitchen_menu))

    (low,) = captured.of_type(InventoryLow)
    assert low.type == "com.mariopizzeria.kitchen.inventory_low"
    assert (low.ingredient_id, low.ingredient_name) == (dough.pk, "Pizza dough")
    assert (low.current_quantity, low.minimum_threshold) == (Decimal("900"), Decimal("1000"))
    assert (
        low.supplier_info.name == "Molino Rossi" and low.supplier_info.email == "orders@molinorossi.example"
    )
    assert (low.aggregate_type, low.aggregate_id) == ("ingredient", str(dough.pk))
    (po,) = PurchaseOrder.objects.all()
    assert (po.ingredient_id, po.quantity, po.status) == (dough.pk, Decimal("5000"), "requested")
    assert po.trigger_event_id == low.event_id

    # when the restock is received the stock rises above the threshold…
    services.restock_receive(purchase_order_id=po.pk, actor="manager")
    dough.refresh_from_db()
    assert dough.quantity_on_hand == Decimal("5650")
    po.refresh_from_db()
    assert (po.status, po.received_by) == ("received", "manager")
    with pytest.raises(Exception, match="already received"):
        services.restock_receive(purchase_order_id=po.pk, actor="manager")
    # …so the next crossing is a new one
    dough.quantity_on_hand = Decimal("1100")
    dough.save()
    with capture_events(only=KITCHEN_HANDLERS) as captured:
        make_order(items=one_margherita(kitchen_menu))
    assert len(captured.of_type(InventoryLow)) == 1
    assert PurchaseOrder.objects.filter(status="requested").count() == 1


def test_restock_request_is_idempotent_for_a_redelivered_event(kitchen_menu):
    dough = kitchen_menu["dough"]
    dough.adjust(-dough.quantity_on_hand)
    (low,) = dough.pending_events
    dough.save()
    handlers.restock_request(low)
    handlers.restock_request(low)
    assert PurchaseOrder.objects.count() == 1


def test_missing_stock_never_rejects_the_order_and_the_ticket_shows_the_shortage(kitchen_menu):
    dough = kitchen_menu["dough"]
    dough.quantity_on_hand = Decimal("300")
    dough.save()
    order = place(kitchen_menu, items=one_margherita(kitchen_menu, quantity=2))  # needs 500 g
    order.refresh_from_db()
    assert order.status == "cooking"
    assert ticket(order).shortages == [{"ingredient": "Pizza dough", "unit": "g", "missing": "200"}]
    dough.refresh_from_db()
    assert dough.quantity_on_hand == 0


def test_cancel_cancels_the_ticket_and_releases_the_ingredients_once(kitchen_menu, settings):
    settings.KITCHEN_CAPACITY = 1
    place(kitchen_menu)
    queued = place(kitchen_menu, items=one_margherita(kitchen_menu, toppings=["mushrooms"]))
    assert ticket(queued).status == "queued"
    kitchen_menu["mushrooms"].refresh_from_db()
    assert kitchen_menu["mushrooms"].quantity_on_hand == Decimal("99950")

    with capture_events(only=KITCHEN_HANDLERS) as captured:
        order_services.order_cancel(order_id=queued.pk, actor="customer", reason="changed my mind")
    t = ticket(queued)
    assert (t.status, t.cancel_reason) == ("cancelled", "changed my mind")
    for key, left in (("dough", "99750"), ("cheese", "99900"), ("mushrooms", "100000")):
        kitchen_menu[key].refresh_from_db()
        assert kitchen_menu[key].quantity_on_hand == Decimal(left), key

    # redelivering the cancellation gives nothing back twice
    (release,) = captured.deliveries("kitchen.handlers.ingredients_release")
    Delivery.objects.filter(pk=release.pk).update(status="pending")
    assert delivery_run(release.pk) == "succeeded"
    kitchen_menu["dough"].refresh_from_db()
    assert kitchen_menu["dough"].quantity_on_hand == Decimal("99750")
    assert StockMovement.objects.filter(order_id=queued.pk, kind="release").count() == 3


def test_a_release_that_arrives_first_stops_the_later_consumption(kitchen_menu):
    with capture_events(only=["kitchen.handlers.ticket_create"]) as captured:
        order = make_order(items=one_margherita(kitchen_menu))
    (consume,) = [
        d
        for d in Delivery.objects.filter(event_id=captured.recorded[0].event_id)
        if d.handler == "kitchen.handlers.ingredients_consume"
    ]
    services.ingredients_release(order_id=order.pk)
    delivery_run(consume.pk)
    kitchen_menu["dough"].refresh_from_db()
    assert kitchen_menu["dough"].quantity_on_hand == Decimal("100000")
    assert OrderConsumption.objects.get(order_id=order.pk).status == "released"


def test_a_ticket_created_after_the_cancellation_is_cancelled(kitchen_menu):
    with capture_events(only=[]) as captured:
        order = make_order(items=one_margherita(kitchen_menu))
        order_services.order_cancel(order_id=order.pk, actor="customer", reason="oops")
    handlers.ticket_create(captured.of_type(OrderPlaced)[0])
    assert ticket(order).status == "cancelled"


def test_cooking_started_in_the_admin_moves_the_ticket(kitchen_menu, settings):
    settings.KITCHEN_CAPACITY = 1
    place(kitchen_menu)
    queued = place(kitchen_menu)
    with capture_events(only=KITCHEN_HANDLERS):
        order_services.order_start_cooking(order_id=queued.pk, actor="manager")
    t = ticket(queued)
    assert (t.status, t.started_by) == ("cooking", "manager")


def test_dispatch_follows_the_order(kitchen_menu):
    order = place(kitchen_menu)
    services.ticket_mark_ready(ticket_id=ticket(order).pk, actor="cook")
    with capture_events(only=KITCHEN_HANDLERS):
        order_services.order_send_out(order_id=order.pk, actor="manager", driver="driver")
    assert (ticket(order).dispatch_status, ticket(order).driver) == ("out_for_delivery", "driver")
    services.dispatch_mark_delivered(order_id=order.pk, actor="driver")
    assert ticket(order).dispatch_status == "delivered"


def test_kitchen_handlers_are_registered_on_kitchen_or_inventory_queues():
    specs = {s.name: s for s in registry.all_handlers() if s.name.startswith("kitchen.")}
    assert sorted(specs) == sorted(KITCHEN_HANDLERS)
    assert {s.queue for s in specs.values()} == {"kitchen", "inventory"}
    assert specs["kitchen.handlers.ingredients_consume"].queue == "inventory"
    assert [s.name for s in registry.handlers_for(InventoryLow.type) if s.name.startswith("kitchen.")] == [
        "kitchen.handlers.restock_request"
    ]
