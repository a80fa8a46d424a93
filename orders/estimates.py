"""How long an order takes: the one prep-time and delivery-time rule (settings tune both).

The kitchen adds its current load on top (kitchen.services.tickets.prep_time); analytics
recomputes the promise with it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings


def prep_estimate(*, pizzas: int) -> dt.timedelta:
    """Kitchen time for an order of `pizzas` pizzas: a base plus a little per extra pizza."""
    return dt.timedelta(
        minutes=settings.ORDER_PREP_MINUTES + settings.ORDER_PREP_MINUTES_PER_PIZZA * max(pizzas - 1, 0)
    )


def delivery_estimate() -> dt.timedelta:
    return dt.timedelta(minutes=settings.ORDER_DELIVERY_MINUTES)
