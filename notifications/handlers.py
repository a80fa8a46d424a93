"""Event handlers of the notifications app (registered at app ready), one message each.

An SMS that the provider rejects for good falls back to email when the customer has an address;
an SMS-only message for a customer without a phone goes by email instead.
"""

from __future__ import annotations

import logging

from eventbus import DomainEvent, event_handler
from kitchen.events import InventoryLow
from notifications import messages, recipients
from notifications.events import NotificationResendRequested
from notifications.recipients import Contact
from notifications.services import EMAIL, SMS, notification_resend, notification_send
from orders.events import OrderCancelled, OrderOutForDelivery, OrderPlaced, OrderReady

logger = logging.getLogger(__name__)

QUEUE = "notifications"


def _sms(event: DomainEvent, *, to: Contact, template: str, context: dict, email_if_no_phone: bool) -> None:
    order_id = context.get("order_id")
    if to.phone:
        notification_send(
            event=event,
            channel=SMS,
            template=template,
            recipient=to.phone,
            context=context,
            order_id=order_id,
            fallback_email=to.email,
        )
    elif email_if_no_phone and to.email:
        notification_send(
            event=event,
            channel=EMAIL,
            template=template,
            recipient=to.email,
            context=context,
            order_id=order_id,
        )
    else:
        logger.info("event_id=%s order_id=%s: no phone, %s SMS skipped", event.event_id, order_id, template)


def _email(event: DomainEvent, *, to: Contact, template: str, context: dict) -> None:
    if not to.email:
        logger.info("event_id=%s: no email address, %s email skipped", event.event_id, template)
        return
    notification_send(
        event=event,
        channel=EMAIL,
        template=template,
        recipient=to.email,
        context=context,
        order_id=context.get("order_id"),
    )


@event_handler(OrderPlaced, queue=QUEUE)
def sms_order_confirmation(event: OrderPlaced) -> None:
    to = recipients.for_customer(
        customer_id=event.customer_id, phone=event.customer_phone, email=event.customer_email
    )
    context = messages.order_placed_context(event, customer_name=to.name)
    # No phone: the confirmation email (next handler) is the customer's message.
    _sms(event, to=to, template="order_confirmed", context=context, email_if_no_phone=False)


@event_handler(OrderPlaced, queue=QUEUE)
def email_order_confirmation(event: OrderPlaced) -> None:
    to = recipients.for_customer(
        customer_id=event.customer_id, phone=event.customer_phone, email=event.customer_email
    )
    _email(
        event,
        to=to,
        template="order_confirmed",
        context=messages.order_placed_context(event, customer_name=to.name),
    )


@event_handler(OrderReady, queue=QUEUE)
def sms_order_ready(event: OrderReady) -> None:
    to = recipients.for_customer(customer_id=event.customer_id, phone=event.customer_phone)
    context = messages.order_ready_context(event, customer_name=to.name)
    _sms(event, to=to, template="order_ready", context=context, email_if_no_phone=True)


@event_handler(OrderOutForDelivery, queue=QUEUE)
def sms_out_for_delivery(event: OrderOutForDelivery) -> None:
    to = recipients.for_order(order_id=event.order_id)
    context = messages.out_for_delivery_context(event, customer_name=to.name)
    _sms(event, to=to, template="out_for_delivery", context=context, email_if_no_phone=True)


@event_handler(OrderCancelled, queue=QUEUE)
def sms_order_cancelled(event: OrderCancelled) -> None:
    to = recipients.for_order(order_id=event.order_id)
    context = messages.order_cancelled_context(event, customer_name=to.name)
    _sms(event, to=to, template="order_cancelled", context=context, email_if_no_phone=False)


@event_handler(OrderCancelled, queue=QUEUE)
def email_order_cancelled(event: OrderCancelled) -> None:
    to = recipients.for_order(order_id=event.order_id)
    _email(
        event,
        to=to,
        template="order_cancelled",
        context=messages.order_cancelled_context(event, customer_name=to.name),
    )


@event_handler(NotificationResendRequested, queue=QUEUE)
def resend_notification(event: NotificationResendRequested) -> None:
    notification_resend(event=event)


@event_handler(InventoryLow, queue=QUEUE)
def email_inventory_low(event: InventoryLow) -> None:
    """Email the supplier contact and the manager; each recipient is its own log row."""
    context = messages.inventory_low_context(event)
    for address in dict.fromkeys(a for a in (context["supplier_email"], recipients.manager_email()) if a):
        notification_send(
            event=event, channel=EMAIL, template="inventory_low", recipient=address, context=context
        )
