"""Ticket lifecycle: create from OrderPlaced, start within capacity, ready, cancel.

Lock order everywhere: order lock → capacity lock → ticket row → order row (orders' services).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kitchen.errors import AtCapacity, TicketStateError
from kitchen.live import board_changed
from kitchen.locks import capacity_lock, order_lock
from kitchen.models import KitchenTicket, StockMovement, format_quantity
from kitchen.selectors import capacity
from kitchen.services.common import NOBODY
from orders import selectors as order_selectors
from orders import services as order_services
from orders.errors import OrderError
from orders.estimates import prep_estimate
from orders.models import Order
from pizzeria.actors import Actor, actor_name

logger = logging.getLogger(__name__)
Status = KitchenTicket.Status
# Order statuses that mean "the kitchen is done with it".
_ORDER_DONE = (Order.Status.READY, Order.Status.OUT_FOR_DELIVERY, Order.Status.DELIVERED)


def prep_time(*, pizzas: int, cooking: int) -> dt.timedelta:
    """The order's prep estimate (orders.estimates) plus the load: a little per ticket cooking."""
    return prep_estimate(pizzas=pizzas) + dt.timedelta(
        minutes=settings.KITCHEN_LOAD_MINUTES_PER_TICKET * cooking
    )


def default_priority(*, fulfilment: str) -> int:
    # A pickup customer waits at the counter at the promised time; a driver can make up minutes.
    return 1 if fulfilment == Order.Fulfilment.PICKUP else 0


def _shortages_of(order_id: int) -> list[dict]:
    rows = StockMovement.objects.filter(
        order_id=order_id, kind=StockMovement.Kind.CONSUME, shortfall__gt=0
    ).select_related("ingredient")
    return [
        {"ingredient": m.ingredient.name, "unit": m.ingredient.unit, "missing": format_quantity(m.shortfall)}
        for m in rows
    ]


def ticket_create(
    *,
    order_id: int,
    items: list[dict],
    fulfilment: str,
    delivery_address: str = "",
    customer_phone: str = "",
    notes: str = "",
    placed_at: dt.datetime | None = None,
) -> tuple[KitchenTicket, bool]:
    """Create the order's ticket once (redeliveries find it) and start what capacity allows."""
    with transaction.atomic():
        order_lock(order_id)
        existing = KitchenTicket.objects.filter(order_id=order_id).first()
        if existing is not None:
            return existing, False
        cooking = KitchenTicket.objects.filter(status=Status.COOKING).count()
        ticket = KitchenTicket(
            order_id=order_id,
            items=items,
            fulfilment=fulfilment,
            delivery_address=delivery_address,
            customer_phone=customer_phone,
            notes=notes,
            placed_at=placed_at or timezone.now(),
            priority=default_priority(fulfilment=fulfilment),
            estimated_prep_time=prep_time(
                pizzas=sum(int(i.get("quantity", 1)) for i in items), cooking=cooking
            ),
            shortages=_shortages_of(order_id),
        )
        _sync_from_order(ticket)
        ticket.save()
        board_changed(order_id=order_id, reason="ticket_created")
        if ticket.status == Status.QUEUED:
            ticket_start_next()
        ticket.refresh_from_db()
    return ticket, True


def _sync_from_order(ticket: KitchenTicket) -> bool:
    """Align a ticket with an order changed elsewhere (cancelled, or started from the admin)."""
    order = order_selectors.order_get(order_id=ticket.order_id)
    if order.status == Order.Status.CANCELLED and ticket.status != Status.CANCELLED:
        ticket.status, ticket.cancelled_at, ticket.cancel_reason = (
            Status.CANCELLED,
            order.cancelled_at,
            order.cancel_reason,
        )
        return True
    if order.status == Order.Status.COOKING and ticket.status == Status.QUEUED:
        ticket.status = Status.COOKING
        ticket.started_at, ticket.started_by = order.cooking_started_at, order.cooking_started_by
        ticket.estimated_ready_time = order.estimated_ready_time
        return True
    if order.status in _ORDER_DONE and ticket.status in (Status.QUEUED, Status.COOKING):
        ticket.status, ticket.ready_at, ticket.finished_by = Status.READY, order.ready_at, order.ready_by
        ticket.started_at = ticket.started_at or order.cooking_started_at
        return True
    return False


def _start_locked(ticket: KitchenTicket, *, actor: Actor) -> KitchenTicket:
    """Start a locked ticket; the caller holds the capacity lock."""
    if ticket.status != Status.QUEUED:
        raise TicketStateError(
            f"Order {ticket.order_id} is {ticket.get_status_display().lower()}; only queued tickets can start"
        )
    cooking = KitchenTicket.objects.filter(status=Status.COOKING).count()
    if cooking >= capacity():
        raise AtCapacity(f"Kitchen at capacity: {cooking} of {capacity()} tickets cooking")
    now = timezone.now()
    ready = now + ticket.estimated_prep_time
    try:
        order_services.order_start_cooking(
            order_id=ticket.order_id, actor=actor_name(actor, nobody=NOBODY), estimated_ready_time=ready
        )
    except OrderError as exc:
        raise TicketStateError(str(exc)) from exc
    ticket.status, ticket.started_at, ticket.started_by = (
        Status.COOKING,
        now,
        actor_name(actor, nobody=NOBODY),
    )
    ticket.estimated_ready_time = ready
    ticket.save()
    board_changed(order_id=ticket.order_id, reason="started")
    logger.info("Ticket started order_id=%s by=%s", ticket.order_id, ticket.started_by)
    return ticket


def ticket_start(*, ticket_id: int, actor: Actor) -> KitchenTicket:
    """A cook starts a queued ticket by hand while there is room (AtCapacity otherwise)."""
    with transaction.atomic():
        capacity_lock()
        ticket = KitchenTicket.objects.select_for_update().get(pk=ticket_id)
        return _start_locked(ticket, actor=actor)


def ticket_start_next(*, actor: Actor = None) -> list[KitchenTicket]:
    """Start queued tickets (priority, then age) while there is capacity; return those started."""
    started: list[KitchenTicket] = []
    skipped: set[int] = set()
    with transaction.atomic():
        capacity_lock()
        while KitchenTicket.objects.filter(status=Status.COOKING).count() < capacity():
            ticket = (
                KitchenTicket.objects.select_for_update()
                .filter(status=Status.QUEUED)
                .exclude(pk__in=skipped)
                .order_by("-priority", "placed_at", "id")
                .first()
            )
            if ticket is None:
                break
            try:
                with transaction.atomic():
                    started.append(_start_locked(ticket, actor=actor))
            except TicketStateError as exc:
                # Cancelled (or started in the admin) but the event has not reached us yet.
                logger.info("Ticket order_id=%s not startable: %s", ticket.order_id, exc)
                if _sync_from_order(ticket):
                    ticket.save()
                    board_changed(order_id=ticket.order_id, reason="synced")
                skipped.add(ticket.pk)
    return started


def ticket_mark_ready(*, ticket_id: int, actor: Actor, pickup_instructions: str = "") -> KitchenTicket:
    """Cooks press Ready: the order records OrderReady, whose handler starts the next ticket."""
    with transaction.atomic():
        ticket = KitchenTicket.objects.select_for_update().get(pk=ticket_id)
        if ticket.status != Status.COOKING:
            raise TicketStateError(
                f"Order {ticket.order_id} is {ticket.get_status_display().lower()}; only cooking tickets can be ready"
            )
        try:
            order = order_services.order_mark_ready(
                order_id=ticket.order_id,
                actor=actor_name(actor, nobody=NOBODY),
                pickup_instructions=pickup_instructions,
            )
        except OrderError as exc:
            raise TicketStateError(str(exc)) from exc
        ticket.status, ticket.ready_at, ticket.finished_by = (
            Status.READY,
            order.ready_at,
            actor_name(actor, nobody=NOBODY),
        )
        ticket.save()
        board_changed(order_id=ticket.order_id, reason="ready")
    return ticket


def ticket_on_order_ready(*, order_id: int) -> list[KitchenTicket]:
    """OrderReady (from anywhere): mark the ticket ready if it is not yet, then fill the slot."""
    with transaction.atomic():
        capacity_lock()
        ticket = KitchenTicket.objects.select_for_update().filter(order_id=order_id).first()
        if ticket is not None and _sync_from_order(ticket):
            ticket.save()
        board_changed(order_id=order_id, reason="ready")
        return ticket_start_next()


def ticket_on_cooking_started(*, order_id: int) -> None:
    """OrderCookingStarted from outside the kitchen display (admin): the ticket follows."""
    with transaction.atomic():
        ticket = KitchenTicket.objects.select_for_update().filter(order_id=order_id).first()
        if ticket is not None and _sync_from_order(ticket):
            ticket.save()
        board_changed(order_id=order_id, reason="cooking")


def ticket_on_dispatch(*, order_id: int) -> None:
    """OrderOutForDelivery / OrderDelivered: the ticket's dispatch state follows the order."""
    with transaction.atomic():
        ticket = KitchenTicket.objects.select_for_update().filter(order_id=order_id).first()
        if ticket is not None:
            ticket_sync_dispatch(ticket=ticket)
        board_changed(order_id=order_id, reason="dispatch")


def ticket_sync_dispatch(*, ticket: KitchenTicket) -> None:
    """Copy the order's dispatch state (driver, out, delivered) onto its locked ticket and save it."""
    order = order_selectors.order_get(order_id=ticket.order_id)
    _sync_from_order(ticket)
    if order.status == Order.Status.OUT_FOR_DELIVERY:
        ticket.dispatch_status, ticket.driver = KitchenTicket.Dispatch.OUT, order.driver
        ticket.dispatched_at = order.out_for_delivery_at
    elif order.status == Order.Status.DELIVERED:
        ticket.dispatch_status, ticket.delivered_at = KitchenTicket.Dispatch.DONE, order.delivered_at
        ticket.driver = order.driver
        ticket.dispatched_at = order.out_for_delivery_at
    ticket.save()


def ticket_cancel(*, order_id: int, reason: str = "") -> KitchenTicket | None:
    """OrderCancelled: cancel the ticket (a missing one is created cancelled by ticket_create)."""
    with transaction.atomic():
        order_lock(order_id)
        capacity_lock()
        ticket = KitchenTicket.objects.select_for_update().filter(order_id=order_id).first()
        if ticket is None or ticket.status == Status.CANCELLED:
            return ticket
        was_cooking = ticket.status == Status.COOKING
        ticket.status, ticket.cancelled_at, ticket.cancel_reason = Status.CANCELLED, timezone.now(), reason
        ticket.save()
        board_changed(order_id=order_id, reason="cancelled")
        if was_cooking:
            ticket_start_next()
    return ticket


def ticket_set_priority(*, ticket_id: int, priority: int) -> KitchenTicket:
    with transaction.atomic():
        ticket = KitchenTicket.objects.select_for_update().get(pk=ticket_id)
        ticket.priority = priority
        ticket.save(update_fields=["priority", "updated_at"])
        board_changed(order_id=ticket.order_id, reason="priority")
    return ticket
