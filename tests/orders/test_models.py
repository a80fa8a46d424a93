import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from orders.errors import IllegalTransition
from orders.models import Customer, Order
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def test_issue_example_totals_31_18():
    order = make_order()  # 2 × large Margherita + mushrooms
    item = order.items.get()
    assert (item.unit_price, item.line_total, order.total_amount) == (
        Decimal("15.59"),
        Decimal("31.18"),
        Decimal("31.18"),
    )


def test_customer_model_rejects_non_e164_phone():
    customer = make_customer()
    customer.phone = "+1 500 555 0006"
    with pytest.raises(ValidationError):
        customer.full_clean()


def test_order_records_placed_event_with_version():
    order = make_order()
    assert order.version == 1 and order.status == Order.Status.PLACED
    assert order.pending_events == ()  # saved: drained into the outbox


def test_aggregate_method_records_event_before_save():
    order = make_order()
    order.start_cooking(actor="cook")
    (event,) = order.pending_events
    assert event.type == "com.mariopizzeria.order.cooking_started"
    assert (
        event.aggregate_type == "order"
        and event.aggregate_id == str(order.pk)
        and event.aggregate_version == 2
    )


def test_illegal_transition_message_is_human():
    order = make_order(status="cooking")
    with pytest.raises(IllegalTransition) as exc:
        order.cancel(reason="changed my mind", actor="customer")
    assert str(exc.value) == f"Order {order.pk} is cooking; only placed or paid orders can be cancelled"
    assert order.pending_events == ()


def test_age_and_is_open():
    order = make_order()
    order.placed_at -= dt.timedelta(minutes=30)
    assert order.age >= dt.timedelta(minutes=30) and order.is_open


def test_customer_str_and_name():
    customer = make_customer(username="luigi")
    assert str(customer) == "luigi" and Customer.objects.get().name == "luigi"
