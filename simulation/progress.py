"""What the simulation shows: the run's orders by status, the bus's deliveries since the start, rates.

Read from the database (the same rows the dashboard and the admin read), so the display shows what
the system did, not what the simulation believes it asked for.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import time
from typing import TYPE_CHECKING

from django.db.models import Count
from rich.table import Table

from analytics.selectors import percentile
from eventbus.models import Delivery
from notifications.models import Notification
from orders.models import Order

if TYPE_CHECKING:
    from simulation.providerstub import ProviderStub

S = Order.Status
ORDER_COLUMNS = [
    ("waiting", (S.PLACED, S.PAID)),
    ("cooking", (S.COOKING,)),
    ("ready", (S.READY,)),
    ("out", (S.OUT_FOR_DELIVERY,)),
    ("delivered", (S.DELIVERED,)),
    ("cancelled", (S.CANCELLED,)),
]
DELIVERY_STATES = ["pending", "running", "retrying", "succeeded", "dead"]
OPEN_DELIVERIES = ("pending", "running", "retrying")


@dataclasses.dataclass
class Snapshot:
    at: float
    orders: dict[str, int]
    deliveries: dict[str, int]
    notifications: dict[str, int]
    requested: int
    placed: int

    @property
    def finished(self) -> bool:
        done = self.orders["delivered"] + self.orders["cancelled"]
        return (
            self.placed == self.requested
            and done == self.placed
            and not any(self.deliveries[s] for s in OPEN_DELIVERIES)
        )


def snapshot(*, order_ids: list[int], since: dt.datetime, requested: int) -> Snapshot:
    by_status = dict(Order.objects.filter(pk__in=order_ids).values_list("status").annotate(n=Count("pk")))
    orders = {name: sum(by_status.get(s, 0) for s in statuses) for name, statuses in ORDER_COLUMNS}
    found = dict(Delivery.objects.filter(created_at__gte=since).values_list("status").annotate(n=Count("pk")))
    deliveries = {s: found.get(s, 0) for s in DELIVERY_STATES}
    # Since the start, not per order: the run's stock alerts (InventoryLow e-mails) count too.
    notifications = dict(
        Notification.objects.filter(created_at__gte=since).values_list("status").annotate(n=Count("pk"))
    )
    return Snapshot(time.monotonic(), orders, deliveries, notifications, requested, len(order_ids))


class Rates:
    """Orders placed and deliveries finished per second over the last few seconds."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self.history: collections.deque[Snapshot] = collections.deque()

    def add(self, snap: Snapshot) -> tuple[float, float]:
        self.history.append(snap)
        while len(self.history) > 2 and snap.at - self.history[0].at > self.window:
            self.history.popleft()
        first = self.history[0]
        elapsed = snap.at - first.at
        if elapsed <= 0:
            return 0.0, 0.0
        done = lambda s: s.deliveries["succeeded"] + s.deliveries["dead"]  # noqa: E731
        return (snap.placed - first.placed) / elapsed, (done(snap) - done(first)) / elapsed


def live_table(
    snap: Snapshot, *, rates: tuple[float, float], elapsed: float, stub: ProviderStub | None = None
) -> Table:
    orders = Table(title=f"Mario's Pizzeria — simulation, {elapsed:.0f} s", title_justify="left")
    orders.add_column("orders placed")
    for name, _ in ORDER_COLUMNS:
        orders.add_column(name, justify="right")
    orders.add_row(f"{snap.placed}/{snap.requested}", *(str(snap.orders[n]) for n, _ in ORDER_COLUMNS))
    bus = Table()
    bus.add_column("deliveries")
    for state in DELIVERY_STATES:
        bus.add_column(state, justify="right")
    bus.add_column("notifications sent", justify="right")
    bus.add_row("", *(str(snap.deliveries[s]) for s in DELIVERY_STATES), str(sent_count(snap.notifications)))
    screen = Table.grid()
    screen.add_row(orders)
    screen.add_row(bus)
    line = f"rate: {rates[0]:.1f} orders/s placed, {rates[1]:.1f} deliveries/s done"
    if stub is not None:
        line += f"; provider calls {len(stub.requests)}, failed on purpose {_failed(stub)}"
    screen.add_row(line)
    return screen


def sent_count(by_status: dict[str, int]) -> int:
    """Accepted by a provider, or written by the console channel when there are no credentials."""
    return sum(by_status.get(s, 0) for s in ("sent", "delivered", "logged"))


def _failed(stub: ProviderStub) -> int:
    return sum(1 for r in list(stub.requests) if r.get("status", 0) >= 500)


@dataclasses.dataclass
class Summary:
    requested: int
    placed: int
    orders: dict[str, int]
    deliveries: dict[str, int]
    notifications_sent: int
    notifications_by_status: dict[str, int]
    provider_calls: int | None
    provider_failures: int | None
    provider_accepted: int | None
    provider_message_ids: list[str] | None
    throttled: int
    seconds: float
    lifecycle_seconds: dict[str, float | None]
    api_ms: dict[str, float | None]
    finished: bool

    def table(self) -> Table:
        t = Table(title="Simulation summary", title_justify="left")
        t.add_column("measure")
        t.add_column("value", justify="right")
        t.add_row("orders requested / placed", f"{self.requested} / {self.placed}")
        for name, _ in ORDER_COLUMNS:
            t.add_row(f"orders {name}", str(self.orders[name]))
        for state in DELIVERY_STATES:
            t.add_row(f"deliveries {state}", str(self.deliveries[state]))
        t.add_row("notifications sent", str(self.notifications_sent))
        if self.provider_calls is not None:
            t.add_row(
                "provider calls / failed on purpose / accepted",
                f"{self.provider_calls} / {self.provider_failures} / {self.provider_accepted}",
            )
        t.add_row("API 429s waited out", str(self.throttled))
        t.add_row("POST /api/orders/ p50 / p95 (ms)", _pair(self.api_ms))
        t.add_row("placed → delivered p50 / p90 (s)", _pair(self.lifecycle_seconds))
        t.add_row("wall time (s)", f"{self.seconds:.1f}")
        t.add_row("everything finished", "yes" if self.finished else "NO")
        return t


def _pair(values: dict[str, float | None]) -> str:
    return " / ".join("—" if v is None else f"{v:.0f}" if v >= 10 else f"{v:.1f}" for v in values.values())


def quantiles(values: list[float], *qs: int) -> dict[str, float | None]:
    return {f"p{q}": percentile(sorted(values), q) for q in qs}
