"""Ingredients, recipes, stock movements and restock requests.

Ingredient is an aggregate: changing its stock goes through `adjust()`, which records
InventoryLow when the quantity goes from at-or-above the threshold to below it (once per
crossing); saving publishes the event with the stock change.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from eventbus.aggregate import AggregateRoot
from kitchen.events import InventoryLow, SupplierInfo


class _Quantity(TypedDict):
    max_digits: int
    decimal_places: int


QTY: _Quantity = {"max_digits": 12, "decimal_places": 3}


def format_quantity(value: Decimal) -> str:
    """250.000 → "250", 0.500 → "0.5" (never "2.5E+2")."""
    return format(value.normalize(), "f") if value else "0"


class Ingredient(AggregateRoot):
    aggregate_type = "ingredient"

    class Unit(models.TextChoices):
        GRAM = "g", "grams"
        MILLILITRE = "ml", "millilitres"
        PIECE = "pcs", "pieces"

    name = models.CharField(max_length=100, unique=True)
    unit = models.CharField(max_length=4, choices=Unit.choices, default=Unit.GRAM)
    quantity_on_hand = models.DecimalField(**QTY, default=Decimal("0"))
    minimum_threshold = models.DecimalField(
        **QTY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    reorder_quantity = models.DecimalField(
        **QTY,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Usually ordered from the supplier; 0 = enough to reach three times the threshold.",
    )
    supplier_name = models.CharField(max_length=150, blank=True)
    supplier_email = models.EmailField(blank=True)
    supplier_phone = models.CharField(max_length=30, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_low(self) -> bool:
        return self.quantity_on_hand < self.minimum_threshold

    def restock_quantity(self) -> Decimal:
        if self.reorder_quantity > 0:
            return self.reorder_quantity
        return max(self.minimum_threshold * 3 - self.quantity_on_hand, self.minimum_threshold, Decimal("1"))

    def adjust(self, delta: Decimal) -> None:
        """Change the stock by `delta`; record InventoryLow if this change crosses the threshold."""
        was_low = self.is_low
        self.quantity_on_hand = self.quantity_on_hand + delta
        if not was_low and self.is_low:
            self.record(
                InventoryLow(
                    ingredient_id=self.pk,
                    ingredient_name=self.name,
                    current_quantity=self.quantity_on_hand,
                    minimum_threshold=self.minimum_threshold,
                    unit=self.unit,
                    supplier_info=SupplierInfo(
                        name=self.supplier_name, email=self.supplier_email, phone=self.supplier_phone
                    ),
                )
            )


class RecipeLine(models.Model):
    """How much of an ingredient one medium pizza (or one topping on it) uses; scaled by size."""

    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="recipe_lines")
    pizza = models.ForeignKey(
        "orders.Pizza", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    topping = models.ForeignKey(
        "orders.Topping", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    quantity = models.DecimalField(**QTY, validators=[MinValueValidator(Decimal("0.001"))])

    class Meta:
        ordering = ["pizza", "topping", "ingredient"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pizza__isnull=False, topping__isnull=True)
                | Q(pizza__isnull=True, topping__isnull=False),
                name="recipeline_pizza_xor_topping",
            ),
            models.UniqueConstraint(fields=["pizza", "ingredient"], name="recipeline_pizza_ingredient"),
            models.UniqueConstraint(fields=["topping", "ingredient"], name="recipeline_topping_ingredient"),
        ]

    def __str__(self) -> str:
        return f"{self.pizza or self.topping}: {self.quantity} {self.ingredient.unit} {self.ingredient}"


class OrderConsumption(models.Model):
    """One row per order: makes consuming and releasing its ingredients happen at most once.

    A release that arrives before the consumption leaves a `released` row, so the late
    consumption does nothing instead of taking stock for a cancelled order.
    """

    class Status(models.TextChoices):
        CONSUMED = "consumed", "Consumed"
        RELEASED = "released", "Released"

    order_id = models.BigIntegerField(unique=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Order {self.order_id}: {self.status}"


class StockMovement(models.Model):
    class Kind(models.TextChoices):
        CONSUME = "consume", "Consumed by an order"
        RELEASE = "release", "Released (order cancelled)"
        RESTOCK = "restock", "Restock received"

    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    quantity = models.DecimalField(**QTY, help_text="Signed change of the stock")
    shortfall = models.DecimalField(**QTY, default=Decimal("0"), help_text="Needed but not in stock")
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    purchase_order = models.ForeignKey("PurchaseOrder", null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.quantity} {self.ingredient.unit} {self.ingredient}"


class PurchaseOrder(models.Model):
    """A restock request to the ingredient's supplier; receiving it adds the stock."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        RECEIVED = "received", "Received"

    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="purchase_orders")
    quantity = models.DecimalField(**QTY, validators=[MinValueValidator(Decimal("0.001"))])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    supplier_name = models.CharField(max_length=150, blank=True)
    supplier_email = models.EmailField(blank=True)
    # The InventoryLow that asked for it: a redelivered event finds its request instead of adding one.
    trigger_event_id = models.UUIDField(null=True, blank=True, unique=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.CharField(max_length=150, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    received_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"PO {self.pk}: {self.quantity} {self.ingredient.unit} {self.ingredient} ({self.status})"
