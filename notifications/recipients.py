"""Who gets a message: read through orders.selectors, never orders' models directly."""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from orders import selectors


@dataclasses.dataclass(frozen=True)
class Contact:
    name: str = ""
    phone: str = ""  # E.164 (validated by orders) or empty
    email: str = ""


def for_customer(*, customer_id: int, phone: str = "", email: str = "") -> Contact:
    """The event's own phone/email first (what the customer gave for this order), then the profile."""
    try:
        contact = selectors.customer_contact(customer_id=customer_id)
    except ObjectDoesNotExist:  # the profile is gone: the event's values are all we have
        return Contact(phone=phone, email=email)
    return Contact(name=contact.name, phone=phone or contact.phone, email=email or contact.email)


def for_order(*, order_id: int) -> Contact:
    order = selectors.order_get(order_id=order_id)
    return for_customer(customer_id=order.customer_id, phone=order.phone, email=order.email)


def manager_email() -> str:
    return settings.MANAGER_EMAIL
