"""Kitchen reads for the displays and the admin."""

from __future__ import annotations

from django.conf import settings
from django.db.models import F, QuerySet

from kitchen.models import Ingredient, KitchenTicket
from orders import selectors as order_selectors
from orders.models import Order

READY_SHOWN = 30
Status = KitchenTicket.Status


def capacity() -> int:
    """How many tickets may cook at once (KITCHEN_CAPACITY, at least one)."""
    return max(settings.KITCHEN_CAPACITY, 1)


def _size_names() -> dict[str, str]:
    return {s.code: s.name for s in order_selectors.menu_get()["sizes"]}


def item_lines(ticket: KitchenTicket, sizes: dict[str, str]) -> list[str]:
    lines = []
    for item in ticket.items:
        text = (
            f"{item.get('quantity', 1)} × {sizes.get(item.get('size'), item.get('size'))} {item.get('pizza')}"
        )
        if item.get("toppings"):
            text += " + " + ", ".join(item["toppings"])
        lines.append(text)
    return lines


def _annotate(
    tickets: QuerySet[KitchenTicket] | list[KitchenTicket], sizes: dict[str, str]
) -> list[KitchenTicket]:
    tickets = list(tickets)
    for t in tickets:
        t.lines = item_lines(t, sizes)  # type: ignore[attr-defined]  # for the board's templates
    return tickets


def board() -> dict:
    """The kitchen display: queued (priority, age), cooking (oldest start first), ready."""
    sizes = _size_names()
    queued = KitchenTicket.objects.filter(status=Status.QUEUED).order_by("-priority", "placed_at", "id")
    cooking = KitchenTicket.objects.filter(status=Status.COOKING).order_by("started_at", "id")
    ready = KitchenTicket.objects.filter(status=Status.READY, dispatch_status="").order_by("-ready_at", "-id")
    return {
        "queued": _annotate(queued, sizes),
        "cooking": _annotate(cooking, sizes),
        "ready": _annotate(ready[:READY_SHOWN], sizes),
        "capacity": capacity(),
    }


def dispatch_board() -> dict:
    """The dispatch display: ready delivery orders, ready pickups, orders out with a driver."""
    sizes = _size_names()
    ready = KitchenTicket.objects.filter(status=Status.READY, dispatch_status="").order_by("ready_at", "id")
    out = KitchenTicket.objects.filter(dispatch_status=KitchenTicket.Dispatch.OUT).order_by(
        "dispatched_at", "id"
    )
    return {
        "ready_delivery": _annotate(ready.filter(fulfilment=Order.Fulfilment.DELIVERY), sizes),
        "ready_pickup": _annotate(ready.filter(fulfilment=Order.Fulfilment.PICKUP), sizes),
        "out": _annotate(out, sizes),
        "drivers": order_selectors.drivers(),
    }


def ingredients_low() -> QuerySet[Ingredient]:
    return Ingredient.objects.filter(quantity_on_hand__lt=F("minimum_threshold"))
