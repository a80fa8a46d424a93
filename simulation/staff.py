"""Simulated staff: a cook and a driver who look at the same boards the displays show
(kitchen.selectors) and press the same buttons (kitchen.services), at a compressed pace.

Durations are drawn per order from a seeded generator, in "shop minutes"; `minute` says how many
real seconds one lasts (1.0 by default: an order's whole life takes tens of seconds).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections
from django.utils import timezone

from kitchen import selectors as kitchen_selectors
from kitchen import services as kitchen_services
from kitchen.errors import AtCapacity, KitchenError
from orders import services as order_services
from orders.errors import OrderError

logger = logging.getLogger(__name__)

# Shop minutes (lower, upper) for each step.
COOK_MINUTES = (8, 14)
HANDOVER_MINUTES = (1, 3)  # ready → a driver takes it, or the customer collects it
DRIVE_MINUTES = (10, 20)


@dataclasses.dataclass
class Staff:
    minute: float
    seed: int
    cook: str = "cook"
    driver: str = "driver"
    cash_share: float = 0.4  # paid in cash at the door or the counter; the rest online at once
    actions: int = 0

    def _seconds(self, order_id: int, step: str, bounds: tuple[int, int]) -> float:
        rng = random.Random(f"{self.seed}:{order_id}:{step}")
        return rng.uniform(*bounds) * self.minute

    def pays_cash(self, order_id: int) -> bool:
        return random.Random(f"{self.seed}:{order_id}:cash").random() < self.cash_share

    def _age(self, since: dt.datetime | None) -> float:
        return (timezone.now() - since).total_seconds() if since else 0.0

    def take_payment(self, *, order_id: int, method: str) -> None:
        try:
            order_services.order_pay(
                order_id=order_id, method=method, reference=f"sim-{order_id}", actor=self.cook
            )
        except OrderError:
            pass  # cancelled meanwhile, or already paid

    def tick(self) -> None:
        """Look at the boards once and do what is due."""
        close_old_connections()
        board = kitchen_selectors.board()
        for ticket in board["cooking"]:
            if self._age(ticket.started_at) >= self._seconds(ticket.order_id, "cook", COOK_MINUTES):
                self._act(kitchen_services.ticket_mark_ready, ticket_id=ticket.pk, actor=self.cook)
        room = board["capacity"] - len(board["cooking"])
        for ticket in board["queued"][: max(room, 0)]:
            # The kitchen starts queued tickets by itself when a slot frees up; a cook who sees
            # room does it by hand too (a race with the handler is refused, and that is fine).
            self._act(kitchen_services.ticket_start, ticket_id=ticket.pk, actor=self.cook)

        dispatch = kitchen_selectors.dispatch_board()
        for ticket in dispatch["ready_delivery"]:
            if self._age(ticket.ready_at) >= self._seconds(ticket.order_id, "handover", HANDOVER_MINUTES):
                self._act(
                    kitchen_services.dispatch_send_out,
                    order_id=ticket.order_id,
                    actor=self.driver,
                    driver=self.driver,
                )
        for ticket in dispatch["ready_pickup"]:
            if self._age(ticket.ready_at) >= self._seconds(ticket.order_id, "handover", HANDOVER_MINUTES):
                self._deliver(ticket.order_id)
        for ticket in dispatch["out"]:
            if self._age(ticket.dispatched_at) >= self._seconds(ticket.order_id, "drive", DRIVE_MINUTES):
                self._deliver(ticket.order_id)

    def _deliver(self, order_id: int) -> None:
        if self.pays_cash(order_id):
            self.take_payment(order_id=order_id, method="cash")
        self._act(kitchen_services.dispatch_mark_delivered, order_id=order_id, actor=self.driver)

    def _act(self, service: Callable[..., object], **kwargs: Any) -> None:
        try:
            service(**kwargs)
            self.actions += 1
        except AtCapacity:
            pass
        except KitchenError as exc:
            logger.info("Simulated staff: %s(%s) refused: %s", service.__name__, kwargs, exc)
