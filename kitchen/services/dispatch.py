"""Dispatch: drivers take ready delivery orders out, and mark them delivered; pickups collected."""

from __future__ import annotations

from django.db import transaction

from kitchen.errors import TicketStateError
from kitchen.live import board_changed
from kitchen.models import KitchenTicket
from kitchen.services.common import NOBODY
from kitchen.services.tickets import ticket_sync_dispatch
from orders import services as order_services
from orders.errors import OrderError
from pizzeria.actors import Actor, actor_name


def _locked_ticket(order_id: int) -> KitchenTicket | None:
    # Ticket row before order row, the same order as ticket_mark_ready, so the two cannot deadlock.
    return KitchenTicket.objects.select_for_update().filter(order_id=order_id).first()


def _follow(ticket: KitchenTicket | None, order_id: int) -> None:
    # The OrderOutForDelivery/OrderDelivered handler does the same later; doing it here too means
    # the page that made the change shows it at once.
    if ticket is not None:
        ticket_sync_dispatch(ticket=ticket)
    board_changed(order_id=order_id, reason="dispatch")


def dispatch_send_out(*, order_id: int, actor: Actor, driver: str) -> None:
    with transaction.atomic():
        ticket = _locked_ticket(order_id)
        try:
            order_services.order_send_out(
                order_id=order_id, actor=actor_name(actor, nobody=NOBODY), driver=driver
            )
        except OrderError as exc:
            raise TicketStateError(str(exc)) from exc
        _follow(ticket, order_id)


def dispatch_mark_delivered(*, order_id: int, actor: Actor) -> None:
    """Delivered (delivery orders out with a driver) or collected (pickup orders that are ready)."""
    with transaction.atomic():
        ticket = _locked_ticket(order_id)
        try:
            order_services.order_mark_delivered(order_id=order_id, actor=actor_name(actor, nobody=NOBODY))
        except OrderError as exc:
            raise TicketStateError(str(exc)) from exc
        _follow(ticket, order_id)
