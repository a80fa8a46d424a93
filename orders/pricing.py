"""The one pricing rule. Prices always come from the menu rows, never from the client."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def unit_price(*, base_price: Decimal, topping_prices: Iterable[Decimal], multiplier: Decimal) -> Decimal:
    """(base price + toppings) × size multiplier, rounded half-up to the cent."""
    return money(
        (Decimal(base_price) + sum((Decimal(p) for p in topping_prices), Decimal(0))) * Decimal(multiplier)
    )


def line_total(*, unit: Decimal, quantity: int) -> Decimal:
    return money(unit * quantity)
