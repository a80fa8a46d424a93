"""The kitchen's events (CloudEvents types com.mariopizzeria.kitchen.*)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from pizzeria.eventbus import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class SupplierInfo:
    name: str
    email: str
    phone: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class InventoryLow(DomainEvent):
    """An ingredient's stock went below its minimum threshold (recorded once per crossing)."""

    type = "com.mariopizzeria.kitchen.inventory_low"
    ingredient_id: int
    ingredient_name: str
    current_quantity: Decimal
    minimum_threshold: Decimal
    supplier_info: SupplierInfo
    unit: str = ""
