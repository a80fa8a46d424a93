from kitchen.models.inventory import (
    Ingredient,
    OrderConsumption,
    PurchaseOrder,
    RecipeLine,
    StockMovement,
    format_quantity,
)
from kitchen.models.tickets import KitchenStation, KitchenTicket

__all__ = [
    "Ingredient",
    "KitchenStation",
    "KitchenTicket",
    "OrderConsumption",
    "PurchaseOrder",
    "RecipeLine",
    "StockMovement",
    "format_quantity",
]
