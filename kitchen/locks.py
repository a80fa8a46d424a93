"""Transaction-scoped locks for the kitchen's races.

- The capacity lock serialises every change of "how many tickets are cooking", so two
  concurrent starts (a cook's click and the OrderReady handler, or two workers) cannot both see
  a free slot. It is a row lock (SELECT … FOR UPDATE) on the KitchenStation singleton.
- The order lock serialises the kitchen handlers of one order (ticket creation, ingredient
  consumption, cancellation) even before any row of that order exists: a Postgres advisory
  transaction lock.
"""

from __future__ import annotations

from django.db import connection

from kitchen.models import KitchenStation

_ORDER_LOCK_SPACE = 0x6B74  # "kt": keeps these advisory keys apart from anybody else's


def capacity_lock() -> KitchenStation:
    station = KitchenStation.objects.select_for_update().filter(pk=1).first()
    if station is None:
        KitchenStation.objects.get_or_create(pk=1)
        station = KitchenStation.objects.select_for_update().get(pk=1)
    return station


def order_lock(order_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ORDER_LOCK_SPACE, int(order_id) % 2**31])
