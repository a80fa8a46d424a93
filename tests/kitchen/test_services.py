"""Kitchen services on their own: no handler runs (the orders' events stay undelivered), each test
calls the service the display, the admin or a handler would call."""

import datetime as dt

import pytest

from kitchen import services
from kitchen.errors import AtCapacity, TicketStateError
from kitchen.models import KitchenTicket
from kitchen.services.tickets import prep_time
from orders.models import Order
from tests.factories import make_order
from tests.kitchen.conftest import one_margherita

pytestmark = pytest.mark.django_db


def new_ticket(menu, *, quantity: int = 1, **kwargs) -> KitchenTicket:
    """An order placed (its events not delivered) and its ticket created by the service."""
    order = make_order(items=one_margherita(menu, quantity=quantity), **kwargs)
    ticket, created = services.ticket_create(
        order_id=order.pk,
        items=[{"pizza": "Margherita", "size": "medium", "toppings": [], "quantity": quantity}],
        fulfilment=order.fulfilment,
        placed_at=order.placed_at,
    )
    assert created
    return ticket


def order_of(ticket: KitchenTicket) -> Order:
    return Order.objects.get(pk=ticket.order_id)


def test_prep_time_is_the_orders_estimate_plus_the_kitchen_load(settings):
    settings.ORDER_PREP_MINUTES, settings.ORDER_PREP_MINUTES_PER_PIZZA = 10, 3
    settings.KITCHEN_LOAD_MINUTES_PER_TICKET = 2
    assert prep_time(pizzas=1, cooking=0) == dt.timedelta(minutes=10)
    assert prep_time(pizzas=3, cooking=2) == dt.timedelta(minutes=10 + 2 * 3 + 2 * 2)


def test_ticket_create_starts_cooking_under_capacity_and_queues_the_rest(kitchen_menu, settings):
    settings.KITCHEN_CAPACITY = 1
    # when
    first = new_ticket(kitchen_menu, quantity=2)
    second = new_ticket(kitchen_menu)
    # then: one slot, so the second waits; its estimate counts the ticket already cooking
    first.refresh_from_db()
    assert (first.status, second.status) == (KitchenTicket.Status.COOKING, KitchenTicket.Status.QUEUED)
    assert first.estimated_prep_time == prep_time(pizzas=2, cooking=0)
    assert second.estimated_prep_time == prep_time(pizzas=1, cooking=1)
    assert first.started_by == "kitchen" == order_of(first).cooking_started_by  # nobody in particular
    assert (
        order_of(first).estimated_ready_time
        == first.estimated_ready_time
        == first.started_at + first.estimated_prep_time
    )
    assert order_of(second).status == Order.Status.PLACED


def test_ticket_create_is_idempotent(kitchen_menu):
    ticket = new_ticket(kitchen_menu)
    again, created = services.ticket_create(order_id=ticket.order_id, items=[], fulfilment="delivery")
    assert (again.pk, created) == (ticket.pk, False)
    assert KitchenTicket.objects.count() == 1


def test_ticket_start_at_capacity_raises_and_starts_nothing(kitchen_menu, settings):
    settings.KITCHEN_CAPACITY = 1
    _first, second = new_ticket(kitchen_menu), new_ticket(kitchen_menu)  # the first takes the one slot
    with pytest.raises(AtCapacity, match="Kitchen at capacity: 1 of 1 tickets cooking"):
        services.ticket_start(ticket_id=second.pk, actor="cook")
    second.refresh_from_db()
    assert second.status == KitchenTicket.Status.QUEUED and order_of(second).status == Order.Status.PLACED


def test_ticket_start_by_a_cook_names_the_cook(kitchen_menu, settings, django_user_model):
    settings.KITCHEN_CAPACITY = 1
    first, second = new_ticket(kitchen_menu), new_ticket(kitchen_menu)
    settings.KITCHEN_CAPACITY = 2
    cook = django_user_model.objects.create_user(username="luigi", password="x")
    started = services.ticket_start(ticket_id=second.pk, actor=cook)
    assert started.status == KitchenTicket.Status.COOKING and started.started_by == "luigi"
    assert order_of(started).cooking_started_by == "luigi"
    with pytest.raises(TicketStateError, match="only queued tickets can start"):
        services.ticket_start(ticket_id=first.pk, actor=cook)


def test_ticket_mark_ready_moves_ticket_and_order_once(kitchen_menu):
    ticket = new_ticket(kitchen_menu)
    ready = services.ticket_mark_ready(ticket_id=ticket.pk, actor="cook", pickup_instructions="Counter 2")
    order = order_of(ready)
    assert (ready.status, ready.finished_by) == (KitchenTicket.Status.READY, "cook")
    assert (order.status, order.ready_by, order.pickup_instructions) == (
        Order.Status.READY,
        "cook",
        "Counter 2",
    )
    assert ready.ready_at == order.ready_at
    with pytest.raises(TicketStateError, match="only cooking tickets can be ready"):
        services.ticket_mark_ready(ticket_id=ticket.pk, actor="cook")


def test_ticket_start_next_fills_free_slots_by_priority_then_age(kitchen_menu, settings):
    settings.KITCHEN_CAPACITY = 1
    first = new_ticket(kitchen_menu)
    older_delivery = new_ticket(kitchen_menu)
    pickup = new_ticket(kitchen_menu, fulfilment="pickup")  # the customer waits at the counter
    services.ticket_mark_ready(ticket_id=first.pk, actor="cook")
    # when
    started = services.ticket_start_next()
    # then
    assert [t.pk for t in started] == [pickup.pk]
    older_delivery.refresh_from_db()
    assert older_delivery.status == KitchenTicket.Status.QUEUED
    assert services.ticket_start_next() == []  # no room left


def test_ticket_start_next_skips_a_ticket_whose_order_was_cancelled(kitchen_menu, settings):
    from orders import services as order_services

    settings.KITCHEN_CAPACITY = 1
    first = new_ticket(kitchen_menu)
    cancelled, waiting = new_ticket(kitchen_menu), new_ticket(kitchen_menu)
    order_services.order_cancel(
        order_id=cancelled.order_id, actor="customer", reason="oops"
    )  # event not delivered
    services.ticket_mark_ready(ticket_id=first.pk, actor="cook")
    assert [t.pk for t in services.ticket_start_next()] == [waiting.pk]
    cancelled.refresh_from_db()
    assert cancelled.status == KitchenTicket.Status.CANCELLED


def test_dispatch_sends_out_and_delivers_and_the_ticket_follows_at_once(kitchen_menu):
    ticket = new_ticket(kitchen_menu)
    services.ticket_mark_ready(ticket_id=ticket.pk, actor="cook")
    # when (no OrderOutForDelivery handler runs: the service itself updates the ticket)
    services.dispatch_send_out(order_id=ticket.order_id, actor="dispatcher", driver="mario")
    ticket.refresh_from_db()
    assert (ticket.dispatch_status, ticket.driver) == (KitchenTicket.Dispatch.OUT, "mario")
    assert order_of(ticket).out_for_delivery_by == "dispatcher"
    services.dispatch_mark_delivered(order_id=ticket.order_id, actor=None)
    ticket.refresh_from_db()
    assert ticket.dispatch_status == KitchenTicket.Dispatch.DONE and ticket.delivered_at is not None
    assert order_of(ticket).delivered_by == "kitchen"


def test_dispatch_refusals_are_ticket_state_errors_with_the_orders_reason(kitchen_menu):
    ticket = new_ticket(kitchen_menu, fulfilment="pickup")
    services.ticket_mark_ready(ticket_id=ticket.pk, actor="cook")
    with pytest.raises(TicketStateError, match="is for pickup; only delivery orders go out for delivery"):
        services.dispatch_send_out(order_id=ticket.order_id, actor="driver", driver="mario")
    services.dispatch_mark_delivered(order_id=ticket.order_id, actor="driver")  # collected
    assert order_of(ticket).status == Order.Status.DELIVERED
