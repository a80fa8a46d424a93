"""Per-handler and per-queue figures from the rows, for the ops screen and the scaling gauges.

Every query is bounded by an index: open and dead rows by status (the partial sweep and lease
indexes and delivery_status_idx), finished rows by (status, finished_at) within the window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import Aggregate, Count, FloatField, Min, Q, Sum
from django.utils import timezone

from eventbus.models import Delivery, DeliveryAttempt
from eventbus.registry import queue_of
from pizzeria.queues import QUEUES

if TYPE_CHECKING:
    from ops.broker import QueueDepth

OPEN = (Delivery.Status.PENDING, Delivery.Status.RETRYING, Delivery.Status.RUNNING)
FINISHED = (Delivery.Status.SUCCEEDED, Delivery.Status.DEAD)


class Percentile95(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(0.95) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclasses.dataclass
class HandlerOpen:
    handler: str
    queue: str
    pending: int = 0
    retrying: int = 0
    running: int = 0
    dead: int = 0
    due: int = 0  # pending or retrying and due now: what waiting messages (should) stand for
    oldest_open: dt.datetime | None = None  # created_at of the oldest unfinished delivery
    oldest_due: dt.datetime | None = None  # next_attempt_at of the oldest due, unclaimed one

    def absorb(self, row: Mapping[str, Any]) -> None:
        status = row["status"]
        setattr(self, status, getattr(self, status) + row["n"])
        if status in OPEN:
            first = row["first"]
            self.oldest_open = first if self.oldest_open is None else min(self.oldest_open, first)
        if status in (Delivery.Status.PENDING, Delivery.Status.RETRYING) and row["due_n"]:
            self.due += row["due_n"]
            first_due = row["due"]
            self.oldest_due = first_due if self.oldest_due is None else min(self.oldest_due, first_due)


def open_by_handler(now: dt.datetime | None = None) -> dict[str, HandlerOpen]:
    """Open and dead deliveries per handler: one GROUP BY over the small unfinished set (the
    succeeded rows, most of the table, are never read). /metrics makes no other query."""
    now = now or timezone.now()
    result: dict[str, HandlerOpen] = {}
    is_due = Q(next_attempt_at__lte=now)
    rows = (
        Delivery.objects.filter(status__in=(*OPEN, Delivery.Status.DEAD))
        .values("handler", "status")
        .annotate(
            n=Count("pk"),
            first=Min("created_at"),
            due=Min("next_attempt_at", filter=is_due),
            due_n=Count("pk", filter=is_due),
        )
        .order_by()
    )
    for row in rows:
        entry = result.setdefault(row["handler"], HandlerOpen(row["handler"], queue_of(row["handler"])))
        entry.absorb(row)
    return result


@dataclasses.dataclass
class HandlerWindow:
    finished: int = 0
    dead: int = 0
    attempts: int = 0
    p95_seconds: float | None = None

    @property
    def failure_rate(self) -> float | None:
        """Failed attempts / attempts, over the deliveries finished in the window."""
        if not self.attempts:
            return None
        return max(0, self.attempts - (self.finished - self.dead)) / self.attempts


def finished_by_handler(minutes: int, now: dt.datetime | None = None) -> dict[str, HandlerWindow]:
    now = now or timezone.now()
    since = now - dt.timedelta(minutes=minutes)
    result: dict[str, HandlerWindow] = {}
    rows = (
        Delivery.objects.filter(status__in=FINISHED, finished_at__gte=since)
        .values("handler")
        .annotate(
            n=Count("pk"),
            dead=Count("pk", filter=Q(status=Delivery.Status.DEAD)),
            attempts=Sum("attempts"),
        )
        .order_by()
    )
    for row in rows:
        result[row["handler"]] = HandlerWindow(row["n"], row["dead"], row["attempts"] or 0)
    attempts = DeliveryAttempt.objects.filter(
        delivery__status__in=FINISHED, delivery__finished_at__gte=since, duration_ms__isnull=False
    )
    for p95_row in attempts.values("delivery__handler").annotate(p95=Percentile95("duration_ms")).order_by():
        result.setdefault(p95_row["delivery__handler"], HandlerWindow()).p95_seconds = p95_row["p95"] / 1000.0
    return result


@dataclasses.dataclass
class QueueBacklog:
    queue: str
    waiting: int | None  # messages in the broker (None: broker did not answer)
    consumers: int | None  # RabbitMQ only
    running: int
    due: int  # pending/retrying rows that are due now (what the waiting messages are for)
    oldest_due: dt.datetime | None

    @property
    def backlog(self) -> int:
        """Messages waiting + deliveries running: what a pool of this queue has to work through.
        Without an answer from the broker, the due rows stand in for the waiting messages."""
        return (self.waiting if self.waiting is not None else self.due) + self.running

    def oldest_age(self, now: dt.datetime) -> float:
        return max(0.0, (now - self.oldest_due).total_seconds()) if self.oldest_due else 0.0


def backlog_by_queue(
    opened: dict[str, HandlerOpen], depths: dict[str, QueueDepth] | None, now: dt.datetime | None = None
) -> dict[str, QueueBacklog]:
    now = now or timezone.now()
    result = {}
    for queue in QUEUES:
        depth = depths.get(queue) if depths else None
        mine = [h for h in opened.values() if h.queue == queue]
        dues = [h.oldest_due for h in mine if h.oldest_due is not None]
        result[queue] = QueueBacklog(
            queue=queue,
            waiting=depth.messages if depth else None,
            consumers=depth.consumers if depth else None,
            running=sum(h.running for h in mine),
            due=sum(h.due for h in mine),
            oldest_due=min(dues) if dues else None,
        )
    return result
