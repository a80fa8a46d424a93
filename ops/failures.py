"""Failure groups: dead letters grouped by handler, error class and normalised message.

"Timeout after 8.0s for order 4711" and "Timeout after 8.0s for order 4712" are one cause; the
normaliser strips what differs between occurrences (UUIDs, timestamps, long hex ids, numbers) so
the group says how many deliveries one cause killed, and one click replays or discards them all.
The group id is a hash of the three parts: stable across pages and processes, no table needed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re

from eventbus.models import Delivery, DeliveryAttempt
from eventbus.services import delivery_discard, delivery_replay

_PATTERNS = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<uuid>"),
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"),
        "<time>",
    ),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:\.\d+)?\b"), "<time>"),
    (re.compile(r"\b(?:0x)?(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.I), "<hex>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
)
MAX_MESSAGE = 300


def normalise(message: str) -> str:
    text = " ".join((message or "").split())
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text[:MAX_MESSAGE]


def group_id(handler: str, error_class: str, normalised: str) -> str:
    return hashlib.sha256(f"{handler}\n{error_class}\n{normalised}".encode()).hexdigest()[:12]


@dataclasses.dataclass
class FailureGroup:
    id: str
    handler: str
    error_class: str
    message: str  # normalised
    delivery_ids: list[int]
    first_seen: dt.datetime
    last_seen: dt.datetime
    example_id: int  # the most recent dead letter of the group
    traceback: str = ""

    @property
    def count(self) -> int:
        return len(self.delivery_ids)


def failure_groups(*, with_tracebacks: bool = True) -> list[FailureGroup]:
    """Every group of the dead letters now, the largest first.

    Dead letters are few (each is a delivery nobody could finish), so grouping in Python over
    one indexed query is fine; the regexes are what a database could not do portably.
    """
    groups: dict[str, FailureGroup] = {}
    rows = (
        Delivery.objects.filter(status=Delivery.Status.DEAD)
        .order_by("updated_at", "pk")
        .values_list("pk", "handler", "last_error_class", "last_error", "updated_at")
    )
    for pk, handler, error_class, error, updated_at in rows.iterator(chunk_size=2000):
        message = normalise(error)
        gid = group_id(handler, error_class, message)
        group = groups.get(gid)
        if group is None:
            groups[gid] = FailureGroup(gid, handler, error_class, message, [pk], updated_at, updated_at, pk)
        else:
            group.delivery_ids.append(pk)
            group.last_seen = updated_at
            group.example_id = pk
    result = sorted(groups.values(), key=lambda g: (-g.count, g.handler, g.error_class))
    if with_tracebacks and result:
        examples = {g.example_id: g for g in result}
        attempts = (
            DeliveryAttempt.objects.filter(delivery_id__in=examples, outcome=DeliveryAttempt.Outcome.FAILED)
            .order_by("delivery_id", "-number")
            .values_list("delivery_id", "traceback")
        )
        for delivery_id, tb in attempts:
            group = examples[delivery_id]
            if not group.traceback:
                group.traceback = tb
    return result


def failure_group(gid: str) -> FailureGroup | None:
    return next((g for g in failure_groups(with_tracebacks=False) if g.id == gid), None)


def group_replay(gid: str, *, actor: str) -> int | None:
    """Replay every dead letter of the group; None if no such group (any more)."""
    group = failure_group(gid)
    if group is None:
        return None
    return delivery_replay(deliveries=Delivery.objects.filter(pk__in=group.delivery_ids), actor=actor)


def group_discard(gid: str, *, actor: str) -> int | None:
    group = failure_group(gid)
    if group is None:
        return None
    return delivery_discard(deliveries=Delivery.objects.filter(pk__in=group.delivery_ids), actor=actor)
