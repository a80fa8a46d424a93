"""Worker memory: the pool's RSS (main process + children) after 10,000 deliveries and after N.

Deliveries, not bare tasks: rows written in bulk (one OutboxEvent per five deliveries, the
payload of a real OrderPlaced) and published with the product's publish_deliveries, two batches in
flight so the worker never waits for the bench; each batch, once succeeded, is deleted with its
attempts and events, so the database stays small whatever N is.
"""

from __future__ import annotations

import collections
import datetime as dt
import time
import uuid

from django.utils import timezone

from bench.measure import BenchError
from bench.stats import growth, loadavg
from eventbus.models import Delivery, DeliveryAttempt, OutboxEvent
from eventbus.outbox import publish_deliveries
from tests.polling import wait_until

REFERENCE = 10_000  # the "after 10,000"


def pool_memory(pid: int) -> dict:
    """RSS and USS (bytes) of a process and its children, summed; USS when /proc/<pid>/smaps is readable."""
    import psutil

    root = psutil.Process(pid)
    procs = [root, *root.children(recursive=True)]
    rss = uss = 0
    for p in procs:
        try:
            rss += p.memory_info().rss
            uss += p.memory_full_info().uss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return {"processes": len(procs), "rss_bytes": rss, "uss_bytes": uss or None}


def reference_point(n: int) -> int:
    """10,000, or a tenth of a smaller run (a quick run still gets a growth figure, not the target's)."""
    return REFERENCE if n >= 10 * REFERENCE else max(1, n // 10)


def checkpoints(n: int, batch: int, *, samples: int = 10) -> list[int]:
    """Delivery counts (multiples of batch) at which memory is sampled: the reference, N, and a few between."""
    ref = reference_point(n)
    marks = {ref, n, *(n * i // samples for i in range(1, samples))}
    return sorted({min(n, max(batch, -(-m // batch) * batch)) for m in marks})


def _create(count: int, handlers: list[str], template: OutboxEvent) -> list[tuple[int, str]]:
    now = timezone.now()
    events = [
        OutboxEvent(
            event_id=uuid.uuid4(),
            type=template.type,
            aggregate_type="order",
            aggregate_id=f"memory-{uuid.uuid4().hex[:12]}",
            aggregate_version=1,
            occurred_at=now,
            payload=template.payload,
        )
        for _ in range(-(-count // len(handlers)))
    ]
    OutboxEvent.objects.bulk_create(events, batch_size=1000)
    rows = [
        Delivery(
            event_id=e.event_id, handler=h, next_attempt_at=now - dt.timedelta(seconds=1), enqueued_at=now
        )
        for e in events
        for h in handlers
    ][:count]
    Delivery.objects.bulk_create(rows, batch_size=2000)
    return [(d.pk, d.handler) for d in rows]


def _wait_done(ids: list[int], *, timeout: float) -> None:
    lo, hi = min(ids), max(ids)

    def done() -> bool:
        rows = Delivery.objects.filter(pk__gte=lo, pk__lte=hi)
        bad = rows.filter(status__in=(Delivery.Status.DEAD, Delivery.Status.RETRYING)).first()
        if bad is not None:
            raise BenchError(f"delivery {bad.pk} {bad.status}: {bad.last_error_class} {bad.last_error}")
        return rows.filter(status=Delivery.Status.SUCCEEDED).count() >= len(ids)

    wait_until(done, timeout=timeout, interval=0.02, message=f"{len(ids)} deliveries (memory phase)")


def _delete(ids: list[int]) -> None:
    events = list(Delivery.objects.filter(pk__in=ids).values_list("event_id", flat=True).distinct())
    DeliveryAttempt.objects.filter(delivery_id__in=ids)._raw_delete("default")
    Delivery.objects.filter(pk__in=ids)._raw_delete("default")
    OutboxEvent.objects.filter(pk__in=events)._raw_delete("default")


def memory(
    worker_pid: int, n: int, handlers: list[str], *, batch: int = 1000, timeout: float = 120.0, log=print
) -> dict:
    template = OutboxEvent.objects.filter(type__endswith="order.placed").order_by("-occurred_at").first()
    if template is None:
        raise BenchError("the memory phase needs one OrderPlaced event to copy (place an order first)")
    batch = max(len(handlers), min(batch, max(1, n // 20)))
    marks = collections.deque(checkpoints(n, batch))
    ref = reference_point(n)
    samples = [{"deliveries": 0, **pool_memory(worker_pid), "t_s": 0.0}]
    inflight: collections.deque[list[int]] = collections.deque()
    published = done = 0
    started = time.perf_counter()
    load_before = loadavg()
    while done < n:
        while len(inflight) < 2 and published < n:
            items = _create(min(batch, n - published), handlers, template)
            publish_deliveries(items)
            inflight.append([pk for pk, _ in items])
            published += len(items)
        ids = inflight.popleft()
        _wait_done(ids, timeout=timeout)
        _delete(ids)
        done += len(ids)
        while marks and done >= marks[0]:
            marks.popleft()
            samples.append(
                {
                    "deliveries": done,
                    **pool_memory(worker_pid),
                    "t_s": round(time.perf_counter() - started, 2),
                }
            )
            log(f"bench:   {done:,} deliveries: pool RSS {samples[-1]['rss_bytes'] / 2**20:.1f} MiB")
    elapsed = time.perf_counter() - started
    at_ref = next((s for s in samples if s["deliveries"] >= ref), None)
    at_n = samples[-1]
    return {
        "deliveries": n,
        "batch": batch,
        "reference_deliveries": at_ref["deliveries"] if at_ref else None,
        "rss_at_reference_bytes": at_ref["rss_bytes"] if at_ref else None,
        "rss_at_n_bytes": at_n["rss_bytes"],
        "uss_at_reference_bytes": at_ref["uss_bytes"] if at_ref else None,
        "uss_at_n_bytes": at_n["uss_bytes"],
        "worker_rss_growth": growth(at_ref["rss_bytes"] if at_ref else None, at_n["rss_bytes"]),
        "worker_uss_growth": growth(at_ref["uss_bytes"] if at_ref else None, at_n["uss_bytes"]),
        "at_target_scale": n >= 10 * REFERENCE,
        "elapsed_s": round(elapsed, 2),
        "deliveries_per_s": round(n / elapsed, 1),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "samples": samples,
    }
