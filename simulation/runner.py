"""One simulation run: customers order at a steady rate over HTTP while simulated staff cook and
deliver, until every order is delivered (or cancelled) and every delivery of the bus has finished."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import math
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle
from rich.live import Live

from orders.models import Order
from simulation.customers import ADDRESSES, CANCEL_REASONS, Api, ApiError, Customer, random_order
from simulation.faults import FaultyProviders
from simulation.progress import Rates, Summary, live_table, quantiles, sent_count, snapshot
from simulation.staff import Staff

if TYPE_CHECKING:
    from rich.console import Console

    from simulation.providerstub import ProviderStub

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Options:
    orders: int
    rate: float
    base_url: str = "http://127.0.0.1:8000"
    customers: int | None = None  # None: enough to stay under the order-placing throttle
    failure_rate: float = 0.0
    late_rate: float = 0.0
    seed: int | None = None
    cancel_rate: float = 0.0
    minute: float = 1.0
    timeout: float = 600.0
    stub_port: int = 0
    stub_log: str = ""
    tick: float = 0.2


def customers_needed(rate: float) -> int:
    """Enough customers that none of them hits the per-customer order throttle at this rate."""
    rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
    # "order_place_user" since the per-IP order throttle came (that one the stack's
    # THROTTLE_ORDER_PLACE_IP must allow: every simulated customer orders from 127.0.0.1).
    limit = rates.get("order_place_user") or rates.get("order_place")
    if not limit:
        return 3
    count, seconds = SimpleRateThrottle.parse_rate(None, limit)  # type: ignore[arg-type]  # self is unused there
    if count is None or seconds is None:  # only for a rate of None, excluded above
        return 3
    return max(3, math.ceil(rate * seconds / count * 1.2))


class Simulation:
    def __init__(self, options: Options, *, console: Console | None = None) -> None:
        self.o = options
        self.console = console
        self.rng = random.Random(options.seed)
        self.api = Api(options.base_url)
        self.staff = Staff(minute=options.minute, seed=options.seed or 0)
        self.order_ids: list[int] = []
        self.customer_of: dict[int, Customer] = {}
        self.to_pay: list[int] = []
        self.api_ms: list[float] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()

    # --- customers ------------------------------------------------------------------------------
    def _register(self) -> list[Customer]:
        run = uuid.uuid4().hex[:6]
        count = self.o.customers or customers_needed(self.o.rate)
        password = uuid.uuid4().hex + "-Aa1"
        return [
            self.api.register(
                username=f"sim-{run}-{n}", password=password, address=self.rng.choice(ADDRESSES)
            )
            for n in range(count)
        ]

    def _place_one(self, customer: Customer, order: dict, cancel: bool) -> None:
        started = time.monotonic()
        try:
            placed = self.api.place(customer=customer, order=order)
        except ApiError as exc:
            with self._lock:
                self.errors.append(str(exc))
            return
        with self._lock:
            self.api_ms.append((time.monotonic() - started) * 1000)
            self.order_ids.append(placed["id"])
            self.customer_of[placed["id"]] = customer
            if not cancel:
                self.to_pay.append(placed["id"])
        if cancel:
            time.sleep(self.rng.uniform(0.1, 1.0) * self.o.minute)
            self.api.cancel(customer=customer, order_id=placed["id"], reason=self.rng.choice(CANCEL_REASONS))

    def _place_all(self, customers: list[Customer], menu: dict) -> None:
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(16, max(2, int(self.o.rate * 2)))) as pool:
            for n in range(self.o.orders):
                # A steady rate: order n leaves at start + n/rate, whatever the answers' latency.
                delay = start + n / self.o.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                cancel = self.rng.random() < self.o.cancel_rate
                pool.submit(self._place_one, self.rng.choice(customers), random_order(self.rng, menu), cancel)

    # --- staff ----------------------------------------------------------------------------------
    def _pay_online(self) -> None:
        with self._lock:
            due, self.to_pay = self.to_pay, []
        for order_id in due:
            if not self.staff.pays_cash(order_id):
                self.staff.take_payment(order_id=order_id, method="online")

    # --- the run --------------------------------------------------------------------------------
    def run(self) -> Summary:
        since = timezone.now()
        started = time.monotonic()
        menu = self.api.menu()
        customers = self._register()
        faults = (
            FaultyProviders(
                failure_rate=self.o.failure_rate,
                late_rate=self.o.late_rate,
                seed=self.o.seed,
                port=self.o.stub_port,
            )
            if self.o.failure_rate > 0 or self.o.late_rate > 0
            else None
        )
        with faults if faults else contextlib.nullcontext():
            placing = threading.Thread(target=self._place_all, args=(customers, menu), daemon=True)
            placing.start()
            finished = self._drive(
                since=since, started=started, placing=placing, stub=faults.stub if faults else None
            )
            placing.join(timeout=5)
            summary = self._summary(
                since=since, started=started, finished=finished, stub=faults.stub if faults else None
            )
            if faults and self.o.stub_log:
                with open(self.o.stub_log, "w") as log:
                    log.writelines(json.dumps(r, default=str) + "\n" for r in list(faults.stub.requests))
        return summary

    def _drive(
        self, *, since: dt.datetime, started: float, placing: threading.Thread, stub: ProviderStub | None
    ) -> bool:
        rates = Rates()
        live = self._live()
        deadline = started + self.o.timeout
        with live:
            while True:
                self._pay_online()
                self.staff.tick()
                with self._lock:
                    ids = list(self.order_ids)
                snap = snapshot(order_ids=ids, since=since, requested=self.o.orders - len(self.errors))
                live.update(
                    live_table(snap, rates=rates.add(snap), elapsed=time.monotonic() - started, stub=stub)
                )
                if not placing.is_alive() and snap.finished:
                    return True
                if time.monotonic() > deadline:
                    logger.warning("Simulation timed out after %ss", self.o.timeout)
                    return False
                time.sleep(self.o.tick)

    def _live(self) -> Live | _NoLive:
        return (
            Live(console=self.console, refresh_per_second=4, transient=False) if self.console else _NoLive()
        )

    def _summary(
        self, *, since: dt.datetime, started: float, finished: bool, stub: ProviderStub | None
    ) -> Summary:
        with self._lock:
            ids = list(self.order_ids)
        snap = snapshot(order_ids=ids, since=since, requested=self.o.orders)
        done = Order.objects.filter(pk__in=ids, status=Order.Status.DELIVERED).values_list(
            "placed_at", "delivered_at"
        )
        lifecycle = [(b - a).total_seconds() for a, b in done if b is not None]  # delivered: never None
        accepted = stub.accepted() if stub else []
        return Summary(
            requested=self.o.orders,
            placed=len(ids),
            orders=snap.orders,
            deliveries=snap.deliveries,
            notifications_sent=sent_count(snap.notifications),
            notifications_by_status=snap.notifications,
            provider_calls=len(stub.requests) if stub else None,
            provider_failures=sum(1 for r in stub.requests if r.get("status", 0) >= 500) if stub else None,
            provider_accepted=len(accepted) if stub else None,
            provider_message_ids=[r["message_id"] for r in accepted] if stub else None,
            throttled=self.api.throttled,
            seconds=time.monotonic() - started,
            lifecycle_seconds=quantiles(lifecycle, 50, 90),
            api_ms=quantiles(self.api_ms, 50, 95),
            finished=finished and not self.errors,
        )


class _NoLive:
    """Without a console (tests): nothing to draw."""

    def __enter__(self) -> _NoLive:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, renderable: object) -> None:
        pass
