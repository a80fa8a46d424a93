"""In-memory helper for handler unit tests: capture what a block records, run handlers in-process.

    with capture_events(only=["kitchen.handlers.ticket_create"]) as captured:
        order = order_place(...)
    assert captured.types() == ["com.mariopizzeria.order.placed", ...]

Deliveries still go through the real rows (claim, run, finish), only the broker is skipped, so
handlers that record further events cascade. Integration tests use a real worker instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from unittest import mock

from eventbus import outbox, wire
from eventbus.delivery import delivery_run
from eventbus.events import DomainEvent
from eventbus.models import Delivery
from eventbus.tasks import run_delivery


class EventCapture:
    def __init__(self, only: Iterable[str] | None, run_handlers: bool) -> None:
        self.only = set(only) if only is not None else None
        self.run_handlers = run_handlers
        self.recorded: list[DomainEvent] = []
        self.delivery_ids: list[int] = []
        self._pending: list[int] = []

    def _take(
        self,
        events: Sequence[DomainEvent],
        deliveries: list[outbox.DeliveryRef],
        *,
        using: str,
        trace_context=None,
    ) -> None:
        ids = [d.pk for d in deliveries]
        self.recorded.extend(events)
        self.delivery_ids.extend(ids)
        self._pending.extend(ids)

    def run(self, *, max_rounds: int = 20) -> None:
        """Run pending deliveries (and those their handlers cause) until none is left."""
        for _ in range(max_rounds):
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            for delivery in Delivery.objects.filter(pk__in=batch).order_by("pk"):
                if self.only is None or delivery.handler in self.only:
                    delivery_run(delivery.pk, worker="in-memory")
        raise RuntimeError(f"Handlers kept recording events after {max_rounds} rounds")

    def types(self) -> list[str]:
        return [e.type for e in self.recorded]

    def of_type(self, event_class: type[DomainEvent]) -> list[DomainEvent]:
        return [e for e in self.recorded if isinstance(e, event_class)]

    def deliveries(self, handler: str | None = None) -> list[Delivery]:
        qs = Delivery.objects.filter(pk__in=self.delivery_ids).order_by("pk")
        return list(qs.filter(handler=handler) if handler else qs)


@contextlib.contextmanager
def capture_events(*, only: Iterable[str] | None = None, run_handlers: bool = True) -> Iterator[EventCapture]:
    """Take what the block records instead of publishing it; a retry or replay it causes stays in
    its row (no message reaches a real broker with the id of an uncommitted test row)."""
    capture = EventCapture(only, run_handlers)
    with (
        mock.patch.object(outbox, "publish_on_commit", capture._take),
        messages_sent_to(lambda delivery_id, queue: None),
    ):
        yield capture
        if run_handlers:
            capture.run()


@contextlib.contextmanager
def messages_sent_to(take: Callable[[int, str], object]) -> Iterator[None]:
    """Hand every run_delivery message publish_deliveries sends to take(delivery_id, queue) instead
    of the broker: both ways out (apply_async, and wire.send on Redis). take may raise, as a broker
    that refuses would."""

    def send(producer, items, *, headers):
        for delivery_id, queue, _limits in items:
            take(delivery_id, queue)

    with (
        mock.patch.object(
            run_delivery, "apply_async", lambda args, **options: take(args[0], options["queue"])
        ),
        mock.patch.object(wire, "send", send),
    ):
        yield
