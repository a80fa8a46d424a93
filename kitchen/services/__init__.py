"""Kitchen writes. Views, admin actions, commands and handlers call these."""

from kitchen.services.dispatch import dispatch_mark_delivered, dispatch_send_out
from kitchen.services.inventory import (
    ingredients_consume,
    ingredients_release,
    order_requirements,
    restock_receive,
    restock_request,
)
from kitchen.services.tickets import (
    ticket_cancel,
    ticket_create,
    ticket_mark_ready,
    ticket_on_cooking_started,
    ticket_on_dispatch,
    ticket_on_order_ready,
    ticket_set_priority,
    ticket_start,
    ticket_start_next,
)

__all__ = [
    "dispatch_mark_delivered",
    "dispatch_send_out",
    "ingredients_consume",
    "ingredients_release",
    "order_requirements",
    "restock_receive",
    "restock_request",
    "ticket_cancel",
    "ticket_create",
    "ticket_mark_ready",
    "ticket_on_cooking_started",
    "ticket_on_dispatch",
    "ticket_on_order_ready",
    "ticket_set_priority",
    "ticket_start",
    "ticket_start_next",
]
