"""Handlers through the bus's real delivery code (capture_events), console channel (no credentials)."""

import logging
from decimal import Decimal

import pytest

from eventbus.models import Delivery
from kitchen.events import InventoryLow, SupplierInfo
from notifications.models import Notification
from orders import services
from tests.capture import capture_events
from tests.factories import advance_order, make_customer, make_order
from tests.notifications.helpers import (
    EMAIL_CANCEL,
    EMAIL_CONFIRM,
    INVENTORY,
    SMS_CANCEL,
    SMS_CONFIRM,
    SMS_OUT,
    SMS_READY,
    redeliver,
)

# The log is written on its own connection (notifications.journal): tests need committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def test_order_placed_logs_console_sms_and_email_without_credentials(no_providers, caplog):
    caplog.set_level(logging.INFO, logger="notifications.console")
    customer = make_customer(phone="+15005550006", email="ada@example.com")
    # when
    with capture_events(only=[SMS_CONFIRM, EMAIL_CONFIRM]) as captured:
        order = make_order(customer=customer)
    # then
    assert [d.status for d in captured.deliveries(SMS_CONFIRM)] == ["succeeded"]
    sms = Notification.objects.get(channel="sms")
    email = Notification.objects.get(channel="email")
    assert (sms.recipient, sms.template, sms.status, sms.provider) == (
        "+15005550006",
        "order_confirmed",
        "logged",
        "console",
    )
    assert sms.order_id == order.pk and f"Order #{order.pk}" in sms.body and "$31.18" in sms.body
    assert (email.recipient, email.status) == ("ada@example.com", "logged")
    assert email.subject.startswith(f"Order #{order.pk} confirmed") and "<table" in email.html_body
    assert sms.attempts == 1 and sms.sent_at is not None
    assert "CONSOLE SMS (not sent to a provider)" in caplog.text
    assert "CONSOLE EMAIL (not sent to a provider)" in caplog.text


def test_redelivered_event_logs_each_message_once(no_providers):
    with capture_events(only=[SMS_CONFIRM]) as captured:
        make_order()
    delivery = captured.deliveries(SMS_CONFIRM)[0]

    assert redeliver(delivery) == "succeeded"

    row = Notification.objects.get()
    assert row.attempts == 1


def test_customer_without_phone_gets_email_only(no_providers):
    customer = make_customer(phone="", email="nophone@example.com")
    with capture_events(only=[SMS_CONFIRM, EMAIL_CONFIRM, SMS_READY]) as captured:
        order = make_order(customer=customer, fulfilment="pickup")
        advance_order(order, "ready")

    assert all(
        d.status == "succeeded"
        for h in (SMS_CONFIRM, EMAIL_CONFIRM, SMS_READY)
        for d in captured.deliveries(h)
    )
    rows = Notification.objects.order_by("pk")
    assert [(n.channel, n.template) for n in rows] == [("email", "order_confirmed"), ("email", "order_ready")]
    assert "Please collect within 10 minutes" in rows[1].body


def test_ready_out_for_delivery_and_cancel_messages(no_providers):
    delivered = make_order(fulfilment="delivery")
    cancelled = make_order()
    with capture_events(only=[SMS_READY, SMS_OUT, SMS_CANCEL, EMAIL_CANCEL]) as captured:
        advance_order(delivered, "out_for_delivery")
        services.order_cancel(order_id=cancelled.pk, actor="staff", reason="Oven broke down")

    mine = (SMS_READY, SMS_OUT, SMS_CANCEL, EMAIL_CANCEL)
    assert all(d.status == "succeeded" for h in mine for d in captured.deliveries(h))
    ready = Notification.objects.get(template="order_ready")
    assert "on its way soon" in ready.body
    out = Notification.objects.get(template="out_for_delivery")
    assert "Our driver is on the road." in out.body and out.order_id == delivered.pk
    cancel = {n.channel: n for n in Notification.objects.filter(template="order_cancelled")}
    assert set(cancel) == {"sms", "email"}
    # The reason is free text: the e-mail gives it, the SMS never carries it.
    assert "Oven broke down" not in cancel["sms"].body and "Oven broke down" in cancel["email"].body


def test_failing_notification_never_blocks_the_order(settings, providers):
    providers.script("twilio", (400, {"code": 21610, "message": "Unsubscribed recipient", "status": 400}))
    customer = make_customer(phone="+15005550006", email="")
    customer.email = ""
    customer.save()
    customer.user.email = ""
    customer.user.save()

    with capture_events(only=[SMS_CONFIRM]) as captured:
        order = make_order(customer=customer)

    order.refresh_from_db()
    assert order.status == "placed"  # the order flow is untouched
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    assert delivery.status == Delivery.Status.DEAD
    assert "21610" in delivery.last_error and "Unsubscribed recipient" in delivery.last_error
    row = Notification.objects.get()
    assert (row.status, row.last_error_code) == ("dead", "21610")
    assert not Notification.objects.filter(channel="email").exists()  # no address: no fallback


def test_inventory_low_emails_supplier_and_manager(no_providers, settings):
    settings.MANAGER_EMAIL = "boss@mariospizzeria.example"
    from eventbus.outbox import outbox_write

    event = InventoryLow(
        ingredient_id=3,
        ingredient_name="Mozzarella",
        current_quantity=Decimal("1.5"),
        minimum_threshold=Decimal("5"),
        unit="kg",
        aggregate_type="ingredient",
        aggregate_id="3",
        supplier_info=SupplierInfo(
            name="Caseificio Rossi", email="orders@rossi.example", phone="+390612345678"
        ),
    )
    with capture_events(only=[INVENTORY]) as captured:
        from django.db import transaction

        with transaction.atomic():
            outbox_write([event], using="default")

    assert [d.status for d in captured.deliveries(INVENTORY)] == ["succeeded"]
    rows = {n.recipient: n for n in Notification.objects.filter(template="inventory_low")}
    assert set(rows) == {"orders@rossi.example", "boss@mariospizzeria.example"}
    mail = rows["boss@mariospizzeria.example"]
    assert "Mozzarella" in mail.subject and "1.5 kg" in mail.body and "Minimum threshold: 5 kg" in mail.body
