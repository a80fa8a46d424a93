"""Order selectors: the timeline read from the catalogue (TIMELINE_STEPS), customer contact, drivers."""

import pytest
from django.contrib.auth.models import Group

from eventbus.events import event_types
from eventbus.models import OutboxEvent
from orders import events
from orders.models import Order
from orders.selectors import (
    CUSTOMER_FACING_ROLE,
    EVENT_STATUS,
    TIMELINE_STEPS,
    CustomerContact,
    customer_contact,
    drivers,
    order_get,
    order_timeline,
)
from tests.factories import advance_order, make_customer, make_order

pytestmark = pytest.mark.django_db

ORDER_EVENTS = sorted(
    (cls for cls in event_types().values() if cls.__module__ == events.__name__), key=lambda cls: cls.type
)


def test_every_order_event_has_one_timeline_step():
    assert ORDER_EVENTS, "the catalogue of order events is empty"
    stepped = [step.event for step in TIMELINE_STEPS]
    assert sorted(stepped, key=lambda cls: cls.type) == ORDER_EVENTS  # each once, none missing
    assert set(EVENT_STATUS) == set(CUSTOMER_FACING_ROLE) == {cls.type for cls in ORDER_EVENTS}


def test_timeline_steps_name_real_statuses_and_the_orders_own_columns():
    columns = {f.name for f in Order._meta.get_fields()}
    for step in TIMELINE_STEPS:
        assert step.status in Order.Status.values, step
        assert {f"{step.column}_at", f"{step.column}_by"} <= columns, step


@pytest.mark.parametrize(
    "path",
    [
        ["paid", "cooking", "ready", "out_for_delivery", "delivered"],
        ["cancelled"],
    ],
)
def test_each_events_timeline_status_is_the_status_it_leaves_the_order_in(path):
    order = make_order()
    assert order_timeline(order=order_get(order_id=order.pk))[-1]["status"] == order.status
    for status in path:
        order = advance_order(order, status)
        last = order_timeline(order=order_get(order_id=order.pk))[-1]
        assert last["status"] == order.status == status, last["type"]


def test_events_land_in_outbox_and_timeline():
    order = make_order(status="ready")
    types = list(OutboxEvent.objects.filter(aggregate_id=str(order.pk)).values_list("type", flat=True))
    assert types[0] == "com.mariopizzeria.order.placed" and len(types) == 4
    timeline = order_timeline(order=order)
    assert [e["status"] for e in timeline] == ["placed", "paid", "cooking", "ready"]


def test_timeline_falls_back_to_timestamps_when_outbox_purged():
    order = make_order(status="cooking")
    OutboxEvent.objects.all().delete()
    timeline = order_timeline(order=order_get(order_id=order.pk))
    assert [e["type"].rsplit(".", 1)[1] for e in timeline] == [
        "placed",
        "payment_processed",
        "cooking_started",
    ]


def test_customer_contact():
    customer = make_customer(username="anna", email="anna@example.com")
    assert customer_contact(customer_id=customer.pk) == CustomerContact(
        name="anna", email="anna@example.com", phone="+15005550006"
    )


def test_the_purged_outbox_fallback_reads_like_the_events():
    # given: a delivered order's timeline from its events
    order = make_order(status="delivered")
    from_events = order_timeline(order=order_get(order_id=order.pk))
    # when its outbox rows are purged
    OutboxEvent.objects.all().delete()
    from_columns = order_timeline(order=order_get(order_id=order.pk))

    # then: the same steps, statuses and labels
    def shape(timeline):
        return [(e["type"], e["status"], e["label"]) for e in timeline]

    assert shape(from_columns) == shape(from_events)
    assert [e["label"] for e in from_columns] == [
        "Order placed",
        "Payment received",
        "Cooking started",
        "Ready",
        "Out for delivery",
        "Delivered",
    ]


def test_customers_see_roles_not_staff_usernames():
    customer = make_customer(username="ann")
    order = make_order(customer=customer, status="delivered")
    OutboxEvent.objects.all().delete()  # the order's columns name who acted at every step
    timeline = order_timeline(order=order_get(order_id=order.pk), for_customer=True)
    assert [e["by"] for e in timeline] == ["you", "pizzeria", "kitchen", "kitchen", "driver", "driver"]
    staff_view = order_timeline(order=order_get(order_id=order.pk))
    assert [e["by"] for e in staff_view] == ["ann", "staff", "staff", "staff", "staff", "staff"]


def test_a_collected_pickup_was_handed_over_by_the_pizzeria():
    order = make_order(fulfilment="pickup", delivery_address="", status="delivered")
    timeline = order_timeline(order=order_get(order_id=order.pk), for_customer=True)
    delivered = [e for e in timeline if e["type"] == events.OrderDelivered.type]
    assert delivered and all(e.get("by", "pizzeria") == "pizzeria" for e in delivered)
    OutboxEvent.objects.all().delete()
    (collected,) = [
        e
        for e in order_timeline(order=order_get(order_id=order.pk), for_customer=True)
        if e["type"] == events.OrderDelivered.type
    ]
    assert collected["by"] == "pizzeria"


def test_drivers_are_the_active_members_of_the_driver_group(django_user_model):
    group = Group.objects.create(name="driver")
    for username, active in (("zeno", True), ("anna", True), ("old", False)):
        django_user_model.objects.create_user(username=username, password="x", is_active=active).groups.add(
            group
        )
    django_user_model.objects.create_user(username="cook", password="x")
    assert drivers() == ["anna", "zeno"]
