"""The templates render the seed's content: order number, total, HH:MM times, instructions."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from notifications import messages
from orders.events import OrderCancelled, OrderItemLine, OrderOutForDelivery, OrderPlaced, OrderReady


def placed(**overrides) -> OrderPlaced:
    fields: dict[str, Any] = dict(
        order_id=42,
        customer_id=1,
        customer_phone="+15005550006",
        items=[
            OrderItemLine(
                pizza="Margherita",
                size="large",
                toppings=["mushrooms"],
                quantity=2,
                unit_price=Decimal("15.59"),
            ),
            OrderItemLine(
                pizza="Marinara", size="small", toppings=[], quantity=1, unit_price=Decimal("6.40")
            ),
        ],
        total_amount=Decimal("37.58"),
        fulfilment="delivery",
        delivery_address="12 Via Roma, Springfield",
        estimated_delivery_time=dt.datetime(2026, 11, 26, 19, 45, tzinfo=dt.UTC),
        estimated_ready_time=dt.datetime(2026, 11, 26, 19, 25, tzinfo=dt.UTC),
    )
    fields.update(overrides)
    return OrderPlaced(**fields)


def test_sms_confirmation_has_seed_content(settings):
    settings.TIME_ZONE = "UTC"
    body = messages.render_sms("order_confirmed", messages.order_placed_context(placed())).body

    assert body.startswith("🍕 Order Confirmed!")
    assert "Order #42" in body
    assert "Total: $37.58" in body
    assert "Estimated delivery: 19:45" in body
    assert "We'll notify you when your pizza is ready!" in body


def test_times_are_shown_in_the_pizzerias_time_zone(settings):
    settings.TIME_ZONE = "Europe/Rome"  # UTC+1 in November
    timezone.deactivate()
    body = messages.render_sms("order_confirmed", messages.order_placed_context(placed())).body
    assert "Estimated delivery: 20:45" in body


def test_pickup_confirmation_gives_the_ready_time(settings):
    settings.TIME_ZONE = "UTC"
    event = placed(fulfilment="pickup", delivery_address="", estimated_delivery_time=None)
    body = messages.render_sms("order_confirmed", messages.order_placed_context(event)).body
    assert "Ready for pickup at: 19:25" in body
    assert "Estimated delivery" not in body


def test_confirmation_email_lists_items_sizes_toppings_prices_and_fulfilment(settings):
    settings.TIME_ZONE = "UTC"
    rendered = messages.render_email(
        "order_confirmed", messages.order_placed_context(placed(), customer_name="Ada")
    )

    assert rendered.subject == "Order #42 confirmed: $37.58, delivery around 19:45"
    for text in (rendered.body, rendered.html):
        assert "Margherita" in text and "large" in text and "mushrooms" in text
        assert "15.59" in text and "31.18" in text and "$37.58" in text
        assert "12 Via Roma, Springfield" in text and "19:45" in text
    assert "2 x Margherita (large) + mushrooms @ $15.59 = $31.18" in rendered.body
    assert rendered.html.lstrip().startswith("<!doctype html>")


def test_ready_sms_for_pickup_has_instructions_and_ten_minutes():
    event = OrderReady(
        order_id=7,
        customer_id=1,
        customer_phone="+15005550006",
        preparation_time=dt.timedelta(minutes=12),
        pickup_instructions="Counter 2",
        fulfilment="pickup",
    )
    body = messages.render_sms("order_ready", messages.order_ready_context(event)).body
    assert "Your pizza is ready!" in body and "Order #7" in body
    assert "Pickup instructions: Counter 2" in body
    assert "Please collect within 10 minutes" in body


def test_ready_sms_for_delivery_says_on_its_way_soon():
    event = OrderReady(
        order_id=7,
        customer_id=1,
        customer_phone="+15005550006",
        preparation_time=dt.timedelta(minutes=12),
        pickup_instructions="",
        fulfilment="delivery",
    )
    body = messages.render_sms("order_ready", messages.order_ready_context(event)).body
    assert "on its way soon" in body
    assert "collect" not in body


def test_out_for_delivery_sms_gives_the_eta_but_not_the_drivers_username(settings):
    settings.TIME_ZONE = "UTC"
    event = OrderOutForDelivery(
        order_id=9, driver="luigi.r", estimated_delivery_time=dt.datetime(2026, 11, 26, 20, 5, tzinfo=dt.UTC)
    )
    body = messages.render_sms("out_for_delivery", messages.out_for_delivery_context(event)).body
    assert "Order #9" in body and "Our driver is on the road." in body and "Estimated arrival: 20:05" in body
    assert "luigi" not in body


ATTACK_REASON = "can't wait & visit http://evil.example <b>now</b>"


def test_cancellation_sms_never_carries_the_customers_reason_and_email_escapes_it():
    event = OrderCancelled(order_id=5, reason=ATTACK_REASON, cancelled_by="mallory")
    context = messages.order_cancelled_context(event)
    sms = messages.render_sms("order_cancelled", context).body
    assert "evil.example" not in sms and "can't" not in sms and "#5" in sms
    email = messages.render_email("order_cancelled", context)
    assert email.subject == "Order #5 cancelled"
    assert ATTACK_REASON in email.body  # the plain-text part shows it as typed
    assert "can&#x27;t wait &amp; visit http://evil.example &lt;b&gt;now&lt;/b&gt;" in email.html
    assert "<b>now</b>" not in email.html


def test_sms_is_plain_text_without_html_entities():
    from orders.events import OrderReady

    event = OrderReady(
        order_id=3,
        customer_id=1,
        customer_phone="+15005550006",
        preparation_time=dt.timedelta(minutes=9),
        pickup_instructions="Don't ring & knock <twice>",
        fulfilment="pickup",
    )
    body = messages.render_sms("order_ready", messages.order_ready_context(event)).body
    assert "Pickup instructions: Don't ring & knock <twice>" in body
    assert "&#x27;" not in body and "&amp;" not in body and "&lt;" not in body


def test_email_of_an_sms_only_template_carries_the_sms_text():
    event = OrderOutForDelivery(order_id=9, driver="Luigi", estimated_delivery_time=timezone.now())
    rendered = messages.render_email("out_for_delivery", messages.out_for_delivery_context(event))
    assert rendered.subject == "Mario's Pizzeria: order #9"
    assert (
        "Our driver is on the road." in rendered.body and "Luigi" not in rendered.body and rendered.html == ""
    )
