"""The kitchen's events (CloudEvents types com.mariopizzeria.kitchen.*)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from eventbus import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class SupplierInfo:
    name: str
    email: str
    phone: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class InventoryLow(DomainEvent):
    """An ingredient's stock went below its minimum threshold (recorded once per crossing)."""

    type = "com.mariopizzeria.kitchen.inventory_low"
    public = True  # for suppliers' systems; supplier_info is the supplier's business contact
    field_docs = {
        "ingredient_id": "The ingredient's id.",
        "ingredient_name": "The ingredient's name.",
        "current_quantity": "Stock left, as a decimal string.",
        "minimum_threshold": "The level it fell below, as a decimal string.",
        "supplier_info": "The supplier's name, e-mail and phone (business contact).",
        "unit": "Unit of the quantities (g, ml, pcs).",
    }
    ingredient_id: int
    ingredient_name: str
    current_quantity: Decimal
    minimum_threshold: Decimal
    supplier_info: SupplierInfo
    unit: str = ""
