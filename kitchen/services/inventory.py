"""Stock: consume an order's ingredients, release them on cancel, request and receive restocks.

Consumption never refuses an order: what is missing is recorded as a shortfall (shown on the
ticket), and stock never goes below zero, so a release gives back exactly what was taken.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kitchen.errors import KitchenError
from kitchen.live import board_changed
from kitchen.locks import order_lock
from kitchen.models import (
    Ingredient,
    KitchenTicket,
    OrderConsumption,
    PurchaseOrder,
    RecipeLine,
    StockMovement,
    format_quantity,
)
from kitchen.services.common import NOBODY
from orders import selectors as order_selectors
from pizzeria.actors import Actor, actor_name

logger = logging.getLogger(__name__)


def order_requirements(items: Iterable[dict]) -> dict[int, Decimal]:
    """Ingredient id → quantity for items shaped like OrderPlaced.items (recipes × size × quantity)."""
    sizes = {s.code: s.multiplier for s in order_selectors.menu_get()["sizes"]}
    need: dict[int, Decimal] = defaultdict(Decimal)
    for item in items:
        factor = sizes.get(item.get("size"), Decimal("1")) * int(item.get("quantity", 1))
        pizza = Q(pizza_id=item["pizza_id"]) if item.get("pizza_id") else Q(pizza__name=item.get("pizza"))
        toppings = Q(topping__code__in=list(item.get("toppings") or []))
        for line in RecipeLine.objects.filter(pizza | toppings).only("ingredient_id", "quantity"):
            need[line.ingredient_id] += line.quantity * factor
    return {k: v.quantize(Decimal("0.001")) for k, v in need.items() if v > 0}


def ingredients_consume(*, order_id: int, items: list[dict]) -> list[dict]:
    """Take the order's ingredients from stock once; return the shortages (also put on the ticket)."""
    with transaction.atomic():
        order_lock(order_id)
        if OrderConsumption.objects.filter(order_id=order_id).exists():
            return []  # consumed already, or released first because the order was cancelled
        need = order_requirements(items)
        shortages = []
        for ingredient in Ingredient.objects.select_for_update().filter(pk__in=need).order_by("pk"):
            wanted = need[ingredient.pk]
            taken = min(wanted, max(ingredient.quantity_on_hand, Decimal("0")))
            shortfall = wanted - taken
            ingredient.adjust(-taken)  # records InventoryLow if this crosses the threshold
            ingredient.save()
            StockMovement.objects.create(
                ingredient=ingredient,
                kind=StockMovement.Kind.CONSUME,
                quantity=-taken,
                shortfall=shortfall,
                order_id=order_id,
            )
            if shortfall > 0:
                shortages.append(
                    {
                        "ingredient": ingredient.name,
                        "unit": ingredient.unit,
                        "missing": format_quantity(shortfall),
                    }
                )
        OrderConsumption.objects.create(order_id=order_id, status=OrderConsumption.Status.CONSUMED)
        if shortages:
            logger.warning("Order order_id=%s short of %s", order_id, [s["ingredient"] for s in shortages])
            KitchenTicket.objects.filter(order_id=order_id).update(
                shortages=shortages, updated_at=timezone.now()
            )
            board_changed(order_id=order_id, reason="shortages")
    return shortages


def ingredients_release(*, order_id: int) -> int:
    """Give back what a cancelled order took (once); return how many ingredients were restored."""
    with transaction.atomic():
        order_lock(order_id)
        consumption = OrderConsumption.objects.select_for_update().filter(order_id=order_id).first()
        if consumption is None:
            # Cancelled before the consumption ran: leave a marker so it never runs.
            OrderConsumption.objects.create(
                order_id=order_id, status=OrderConsumption.Status.RELEASED, released_at=timezone.now()
            )
            return 0
        if consumption.status == OrderConsumption.Status.RELEASED:
            return 0
        taken = {
            m.ingredient_id: -m.quantity
            for m in StockMovement.objects.filter(order_id=order_id, kind=StockMovement.Kind.CONSUME)
        }
        for ingredient in Ingredient.objects.select_for_update().filter(pk__in=taken).order_by("pk"):
            ingredient.adjust(taken[ingredient.pk])
            ingredient.save()
            StockMovement.objects.create(
                ingredient=ingredient,
                kind=StockMovement.Kind.RELEASE,
                quantity=taken[ingredient.pk],
                order_id=order_id,
            )
        consumption.status, consumption.released_at = OrderConsumption.Status.RELEASED, timezone.now()
        consumption.save()
    return len(taken)


def restock_request(
    *, ingredient_id: int, trigger_event_id: uuid.UUID | None = None, actor: Actor = None
) -> PurchaseOrder | None:
    """Ask the supplier for stock, unless a request is already open (or the stock recovered)."""
    with transaction.atomic():
        ingredient = Ingredient.objects.select_for_update().get(pk=ingredient_id)
        if trigger_event_id and (
            po := PurchaseOrder.objects.filter(trigger_event_id=trigger_event_id).first()
        ):
            return po
        if PurchaseOrder.objects.filter(
            ingredient=ingredient, status=PurchaseOrder.Status.REQUESTED
        ).exists():
            return None
        if not ingredient.is_low:
            return None
        po = PurchaseOrder.objects.create(
            ingredient=ingredient,
            quantity=ingredient.restock_quantity(),
            supplier_name=ingredient.supplier_name,
            supplier_email=ingredient.supplier_email,
            trigger_event_id=trigger_event_id,
            requested_by=actor_name(actor or "inventory", nobody=NOBODY),
        )
    logger.info("Restock requested po=%s ingredient_id=%s quantity=%s", po.pk, ingredient_id, po.quantity)
    return po


def restock_receive(*, purchase_order_id: int, actor: Actor) -> PurchaseOrder:
    """Staff received the delivery: add the stock and close the request."""
    with transaction.atomic():
        po = PurchaseOrder.objects.select_for_update().get(pk=purchase_order_id)
        if po.status == PurchaseOrder.Status.RECEIVED:
            raise KitchenError(f"Purchase order {po.pk} was already received")
        ingredient = Ingredient.objects.select_for_update().get(pk=po.ingredient_id)
        ingredient.adjust(po.quantity)
        ingredient.save()
        StockMovement.objects.create(
            ingredient=ingredient, kind=StockMovement.Kind.RESTOCK, quantity=po.quantity, purchase_order=po
        )
        po.status, po.received_at, po.received_by = (
            PurchaseOrder.Status.RECEIVED,
            timezone.now(),
            actor_name(actor, nobody=NOBODY),
        )
        po.save()
    return po
