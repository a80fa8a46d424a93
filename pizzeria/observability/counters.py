"""Counters and a histogram kept in Redis hashes, so every process on every machine adds to one set.

Why not prometheus-client's multiprocess mode: it aggregates the processes of one machine (it
needs a shared directory), while the worker pools run on several; each machine would need its own
scrape target, and a worker process has no HTTP server to scrape. Why not rows: a counter read
from rows goes down when retention deletes them, and counting the attempt table at every scrape
is not cheap. Pipelined HINCRBYs, batched per process every half second, keep every process's
counts in the shared Redis (REDIS_URL, the cache), read at scrape time with a few HGETALLs.
A Redis that loses its data resets the counters to zero, which Prometheus's rate() treats as a
counter reset. Recording never fails a delivery or a request: an error is logged and the next
30 s skip Redis. Increments are batched per process for FLUSH_AFTER (0.5 s) before they go out.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache

from pizzeria import redisbreaker

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

# Seconds; a delivery's time in the worker: claim, handler, finish.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SEP = "\x1f"  # between label values in a hash field (never in a handler name or outcome)
_PAUSE = 30.0
# Increments wait this long in the process and go to Redis together, in one round trip: a
# delivery pays a dict update, not a network round trip (measured: a Redis round trip per
# delivery cost ~8% of `make bench`'s pipeline throughput). A process killed with SIGKILL loses
# at most this much of its counts.
FLUSH_AFTER = 0.5

_lock = threading.Lock()
_pending: dict[tuple[str, str], float] = defaultdict(float)  # (hash or key, field) -> increment
_timer: threading.Timer | None = None
_paused_until = 0.0


def _reset_after_fork() -> None:
    global _lock, _pending, _timer
    _lock, _pending, _timer = threading.Lock(), defaultdict(float), None


os.register_at_fork(after_in_child=_reset_after_fork)


def key(name: str) -> str:
    return f"{settings.CACHES['default']['KEY_PREFIX']}:metrics:{name}"


def _client() -> redis.Redis:
    return cache._cache.get_client(write=True)  # type: ignore[attr-defined]  # Django's RedisCache client


def _add(increments: list[tuple[str, str, float]]) -> None:
    """Queue increments (name, field, amount); a timer flushes them within FLUSH_AFTER."""
    global _timer
    if time.monotonic() < _paused_until:
        return
    with _lock:
        for name, field, amount in increments:
            _pending[(name, field)] += amount
        if _timer is None:
            _timer = threading.Timer(FLUSH_AFTER, flush)
            _timer.daemon = True
            _timer.start()


def flush() -> None:
    """Send what is pending (also called at worker shutdown). Never raises."""
    global _timer, _paused_until
    with _lock:
        batch = dict(_pending)
        _pending.clear()
        _timer = None
    if not batch or redisbreaker.is_open(redisbreaker.cache_url()):
        return
    try:
        pipe = _client().pipeline(transaction=False)
        for (name, field), amount in batch.items():
            if not field:
                pipe.incrbyfloat(key(name), amount)
            elif float(amount).is_integer():
                pipe.hincrby(key(name), field, int(amount))
            else:
                pipe.hincrbyfloat(key(name), field, amount)
        pipe.execute()
    except redisbreaker.AWAY_ERRORS as exc:
        # The process's breaker, shared with the throttles and the publish: the request path
        # skips this Redis too. The counters themselves pause longer (a scrape can wait).
        redisbreaker.trip(redisbreaker.cache_url(), "metrics counters", exc)
        _paused_until = time.monotonic() + _PAUSE
    except Exception:
        _paused_until = time.monotonic() + _PAUSE
        logger.warning("Could not record metrics in Redis; skipping for %ss", _PAUSE, exc_info=True)


def bucket_for(seconds: float) -> str:
    for upper in BUCKETS:
        if seconds <= upper:
            return repr(upper)
    return "+Inf"


def delivery_recorded(*, handler: str, queue: str, outcome: str, seconds: float) -> None:
    increments = [
        ("deliveries_total", SEP.join((handler, queue, outcome)), 1),
        ("delivery_duration", SEP.join((handler, "bucket", bucket_for(seconds))), 1),
        ("delivery_duration", SEP.join((handler, "sum")), seconds),
        ("delivery_duration", SEP.join((handler, "count")), 1),
    ]
    if outcome == "retrying":
        increments.append(("retries_total", SEP.join((handler, queue)), 1))
    _add(increments)


def publish_error_recorded(*, path: str, error: str) -> None:
    """A publish that failed for a reason other than the broker (path: "fast" fell back to
    apply_async; "apply_async" left the deliveries to the sweeper); error is the exception class."""
    _add([("publish_errors_total", SEP.join((path, error)), 1)])


def order_placed() -> None:
    _add([("orders_placed_total", "", 1)])


def http_request_recorded(*, view: str, method: str, status: int, seconds: float) -> None:
    _add(
        [
            ("http_requests_total", SEP.join((view, method, str(status))), 1),
            ("http_duration", SEP.join((view, "bucket", bucket_for(seconds))), 1),
            ("http_duration", SEP.join((view, "sum")), seconds),
            ("http_duration", SEP.join((view, "count")), 1),
        ]
    )


def read() -> dict[str, dict[str, str]] | None:
    """Every counter hash at once (one pipelined round trip), or None if Redis does not answer."""
    names = (
        "deliveries_total",
        "retries_total",
        "delivery_duration",
        "http_requests_total",
        "http_duration",
        "publish_errors_total",
    )
    if redisbreaker.is_open(redisbreaker.cache_url()):
        return None
    try:
        pipe = _client().pipeline(transaction=False)
        for name in names:
            pipe.hgetall(key(name))
        pipe.get(key("orders_placed_total"))
        *hashes, orders = pipe.execute()
    except Exception:
        logger.warning("Could not read metrics from Redis", exc_info=True)
        return None
    out = {name: {_s(k): _s(v) for k, v in h.items()} for name, h in zip(names, hashes, strict=True)}
    out["orders_placed_total"] = {"": _s(orders) if orders is not None else "0"}
    return out


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def histogram_rows(raw: dict[str, str]) -> dict[str, tuple[list[tuple[str, float]], float, float]]:
    """{label: ([(le, cumulative count)...], sum, count)} from a stored histogram hash."""
    per: dict[str, dict] = {}
    for field, value in raw.items():
        label, kind, *rest = field.split(SEP)
        entry = per.setdefault(label, {"buckets": {}, "sum": 0.0, "count": 0.0})
        if kind == "bucket":
            entry["buckets"][rest[0]] = float(value)
        else:
            entry[kind] = float(value)
    result = {}
    for label, entry in per.items():
        running, rows = 0.0, []
        for upper in [*map(repr, BUCKETS), "+Inf"]:
            running += entry["buckets"].get(upper, 0.0)
            rows.append((upper, running))
        result[label] = (rows, entry["sum"], entry["count"])
    return result
