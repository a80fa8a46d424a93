"""Message content: template contexts built from events, rendered with Django templates.

Templates live in notifications/templates/notifications/{sms,email}/ so staff can change the
wording without a code change. An email for a template that only has an SMS version (the SMS
fallback of "order ready", say) carries the SMS text under a generic subject.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from django.template import Context, TemplateDoesNotExist, engines
from django.template.loader import get_template, render_to_string
from django.utils import timezone

from kitchen.events import InventoryLow
from orders.events import OrderCancelled, OrderOutForDelivery, OrderPlaced, OrderReady


@dataclasses.dataclass(frozen=True)
class Rendered:
    body: str
    subject: str = ""
    html: str = ""


def hhmm(value: dt.datetime | None) -> str:
    """A time as HH:MM in the pizzeria's time zone (settings.TIME_ZONE)."""
    return timezone.localtime(value).strftime("%H:%M") if value else ""


def money(value: Decimal | str | int) -> str:
    return f"{Decimal(value):.2f}"


def render_sms(template: str, context: dict[str, Any]) -> Rendered:
    """Plain text: no HTML escaping ("can't" stays "can't", not "can&#x27;t").

    SMS templates never show customer free text (cancel reasons, notes): the pizzeria's sender
    must not carry links or wording a customer typed to a phone (phishing by proxy).
    """
    tpl = engines["django"].engine.get_template(  # type: ignore[attr-defined]  # the DjangoTemplates backend's Engine
        f"notifications/sms/{template}.txt"
    )
    return Rendered(body=tpl.render(Context(context, autoescape=False)).strip())


def render_email(template: str, context: dict[str, Any]) -> Rendered:
    try:
        get_template(f"notifications/email/{template}.txt")
    except TemplateDoesNotExist:
        sms = render_sms(template, context)
        subject = render_to_string("notifications/email/generic_subject.txt", context)
        return Rendered(body=sms.body, subject=_one_line(subject))
    return Rendered(
        subject=_one_line(render_to_string(f"notifications/email/{template}_subject.txt", context)),
        body=render_to_string(f"notifications/email/{template}.txt", context).strip() + "\n",
        html=render_to_string(f"notifications/email/{template}.html", context),
    )


def render(channel: str, template: str, context: dict[str, Any]) -> Rendered:
    return render_sms(template, context) if channel == "sms" else render_email(template, context)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


# --- contexts, one per event ----------------------------------------------------------------
def order_placed_context(event: OrderPlaced, *, customer_name: str = "") -> dict[str, Any]:
    items = [
        {
            "pizza": i.pizza,
            "size": i.size,
            "toppings": list(i.toppings),
            "quantity": i.quantity,
            "unit_price": money(i.unit_price),
            "line_total": money(Decimal(i.unit_price) * i.quantity),
        }
        for i in event.items
    ]
    eta = event.estimated_delivery_time if event.fulfilment == "delivery" else None
    eta = eta or event.estimated_ready_time or event.estimated_delivery_time
    return {
        "order_id": event.order_id,
        "customer_name": customer_name,
        "items": items,
        "total": money(event.total_amount),
        "fulfilment": event.fulfilment,
        "is_delivery": event.fulfilment == "delivery",
        "delivery_address": event.delivery_address,
        "eta": hhmm(eta),
        "notes": event.notes,
    }


def order_ready_context(event: OrderReady, *, customer_name: str = "") -> dict[str, Any]:
    return {
        "order_id": event.order_id,
        "customer_name": customer_name,
        "is_delivery": event.fulfilment == "delivery",
        "pickup_instructions": event.pickup_instructions,
    }


def out_for_delivery_context(event: OrderOutForDelivery, *, customer_name: str = "") -> dict[str, Any]:
    return {
        "order_id": event.order_id,
        "customer_name": customer_name,
        "driver": event.driver,
        "eta": hhmm(event.estimated_delivery_time),
    }


def order_cancelled_context(event: OrderCancelled, *, customer_name: str = "") -> dict[str, Any]:
    return {"order_id": event.order_id, "customer_name": customer_name, "reason": event.reason}


def inventory_low_context(event: InventoryLow) -> dict[str, Any]:
    supplier = event.supplier_info
    return {
        "ingredient_id": event.ingredient_id,
        "ingredient_name": event.ingredient_name,
        "current_quantity": event.current_quantity,
        "minimum_threshold": event.minimum_threshold,
        "unit": event.unit,
        "supplier_name": supplier.name,
        "supplier_email": supplier.email,
        "supplier_phone": supplier.phone,
    }
