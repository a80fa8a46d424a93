"""Privacy: customers see roles, not staff usernames; phone numbers and e-mail addresses are
masked in log lines and in provider errors stored on notifications and deliveries."""

from __future__ import annotations

import io
import json
import logging

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from eventbus.models import Delivery, DeliveryAttempt
from notifications.models import Notification
from orders import services
from pizzeria.security.privacy import MaskContactsFilter, mask_contact, mask_text
from tests.capture import capture_events
from tests.factories import make_customer, make_order
from tests.notifications.conftest import no_providers, provider_stub, providers, stub  # noqa: F401  (fixtures)
from tests.notifications.helpers import SMS_CONFIRM

NUMBER = "+14155552671"


def customer_view(customer, order) -> dict:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=customer.user)[0].key}")
    return api.get(f"/api/orders/{order.pk}/").json()


@pytest.mark.django_db
def test_customers_see_roles_never_staff_usernames():
    customer = make_customer(username="carla")
    order = make_order(customer=customer)
    services.order_start_cooking(order_id=order.pk, actor="giuseppe.cook")
    services.order_mark_ready(order_id=order.pk, actor="giuseppe.cook")
    services.order_send_out(order_id=order.pk, actor="manager.maria", driver="dora.driver")

    body = customer_view(customer, order)

    text = json.dumps(body)
    assert "giuseppe" not in text and "dora" not in text and "maria" not in text
    assert body["driver"] == "driver"
    by = {entry["status"]: entry.get("by") for entry in body["timeline"]}
    assert by["cooking"] == "kitchen" and by["out_for_delivery"] == "driver"


@pytest.mark.django_db
def test_a_customers_own_cancellation_says_you_and_a_staff_one_says_pizzeria():
    customer = make_customer(username="carla")
    mine, theirs = make_order(customer=customer), make_order(customer=customer)
    services.order_cancel(order_id=mine.pk, actor=customer.user, reason="")
    services.order_cancel(order_id=theirs.pk, actor="manager.maria", reason="oven broke")
    assert customer_view(customer, mine)["timeline"][-1]["by"] == "you"
    assert customer_view(customer, theirs)["timeline"][-1]["by"] == "pizzeria"


@pytest.mark.django_db(transaction=True)
def test_console_messages_log_masked_recipients(no_providers, caplog):  # noqa: F811
    caplog.set_level(logging.INFO)
    customer = make_customer(phone=NUMBER, email="ann.secret@example.com")

    with capture_events(only=[SMS_CONFIRM]):
        make_order(customer=customer)

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "CONSOLE SMS" in logged and "+1*******671" in logged
    assert NUMBER not in logged and "4155552671" not in logged


def test_the_console_handler_masks_every_record_libraries_included():
    console = next(
        h for h in logging.getLogger().handlers if any(isinstance(f, MaskContactsFilter) for f in h.filters)
    )
    record = logging.LogRecord(
        "twilio.http_client",
        logging.INFO,
        __file__,
        1,
        "POST Request: To=%s&Body=hi from %s",
        ("%2B14155552671", "ann@example.com"),
        None,
    )
    previous = console.setStream(io.StringIO())
    try:
        console.handle(record)
        out = console.stream.getvalue()
    finally:
        console.setStream(previous)
    assert "To=+1*******671" in out and "a***@example.com" in out
    assert "4155552671" not in out and "ann@example.com" not in out


def test_masking_keeps_enough_to_tell_contacts_apart():
    assert mask_contact(NUMBER) == "+1*******671"
    assert mask_contact("ann@example.com") == "a***@example.com"
    assert mask_text("order 12345678 at 2026-11-29 12:00") == "order 12345678 at 2026-11-29 12:00"


@pytest.mark.django_db(transaction=True)
def test_a_provider_error_quoting_the_number_is_stored_masked(providers):  # noqa: F811
    providers.script(
        "twilio",
        (
            400,
            {
                "code": 21211,
                "status": 400,
                "message": f"The 'To' number {NUMBER} is not a valid phone number.",
            },
        ),
    )
    customer = make_customer(phone=NUMBER, email="")
    customer.user.email = ""
    customer.user.save()

    with capture_events(only=[SMS_CONFIRM]) as captured:
        make_order(customer=customer)

    delivery = captured.deliveries(SMS_CONFIRM)[0]
    assert delivery.status == Delivery.Status.DEAD and "21211" in delivery.last_error
    stored = [delivery.last_error, Notification.objects.get(channel="sms").last_error]
    stored += [f"{a.error_message}\n{a.traceback}" for a in DeliveryAttempt.objects.filter(delivery=delivery)]
    assert all("+1*******671" in text or "21211" in text for text in stored)
    assert not any("4155552671" in text for text in stored), stored
