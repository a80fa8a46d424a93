"""The API phase's bus-off switch (bench only: the product has no such flag).

`BENCH_BUS=off` in a process started with bench.settings makes the `bench` app's ready() call
publishing_off(): the event bus's post_save receiver is disconnected and one that only drains
the aggregate's recorded events is connected instead. The order and its items are saved and the
response is the same (an Order keeps the events it drained for its timeline), but no outbox row,
no delivery and no message are written or sent.

`BENCH_PUBLISH_BATCH=off` (with the bus on) makes kombu's Redis channel say it cannot batch, so
eventbus.outbox.publish_deliveries sends each message through apply_async in its own
round trip, as it did before it pipelined them and built them without apply_async (wire.py): the
before/after of those changes, measured in the same run.
"""

from __future__ import annotations

import os

from django.db.models.signals import post_save

ENV = "BENCH_BUS"
BATCH_ENV = "BENCH_PUBLISH_BATCH"
BUS_UID = "eventbus.publish_recorded_events"  # eventbus/signals.py
DRAIN_UID = "bench.drain_recorded_events"


def drain_recorded_events(sender, instance, raw: bool = False, **kwargs) -> None:
    from eventbus.aggregate import AggregateRoot

    if not raw and isinstance(instance, AggregateRoot):
        instance.drain_events()  # what the bus would do first; the events go nowhere


def publishing_off() -> None:
    post_save.disconnect(dispatch_uid=BUS_UID)
    post_save.connect(drain_recorded_events, dispatch_uid=DRAIN_UID, weak=False)


def publishing_on() -> None:
    """Undo publishing_off() (tests)."""
    from eventbus.signals import publish_recorded_events

    post_save.disconnect(dispatch_uid=DRAIN_UID)
    post_save.connect(publish_recorded_events, dispatch_uid=BUS_UID)


def publish_batches_off() -> None:
    from kombu.transport import redis as redis_transport

    redis_transport.Channel.supports_batch_publish = property(lambda self: False)  # type: ignore[attr-defined]  # kombu 5.7's, not in the stubs


def _flag(name: str) -> str:
    value = os.environ.get(name, "on").strip().lower() or "on"
    if value not in ("on", "off"):
        raise ValueError(f"{name} must be 'on' or 'off', not {value!r}")
    return value


def from_environment() -> str:
    """'on' or 'off' from BENCH_BUS (default on); switches publishing (or its batches) off when asked."""
    mode = _flag(ENV)
    if mode == "off":
        publishing_off()
    if _flag(BATCH_ENV) == "off":
        publish_batches_off()
    return mode
