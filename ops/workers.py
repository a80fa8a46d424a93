"""The workers online, from Celery's remote control (what Flower shows live), cached briefly."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.cache import cache

from pizzeria.celery import app

logger = logging.getLogger(__name__)

CACHE_KEY = "ops:workers"
CACHE_SECONDS = 5  # several open screens share one broadcast
TIMEOUT = 1.0


def workers_online() -> list[dict] | None:
    """[{name, queues, concurrency, active}] for every worker that answered, or None on error."""
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        return cached
    try:
        # Three broadcasts in parallel: the page waits for one timeout, not three.
        with ThreadPoolExecutor(max_workers=3) as pool:
            stats_f = pool.submit(lambda: app.control.inspect(timeout=TIMEOUT).stats())
            queues_f = pool.submit(lambda: app.control.inspect(timeout=TIMEOUT).active_queues())
            active_f = pool.submit(lambda: app.control.inspect(timeout=TIMEOUT).active())
            stats, queues, active = stats_f.result() or {}, queues_f.result() or {}, active_f.result() or {}
    except Exception:
        logger.warning("Could not ask the workers (inspect)", exc_info=True)
        return None
    result = []
    for name in sorted(set(stats) | set(queues) | set(active)):
        worker_stats: Any = stats.get(name) or {}  # a broadcast reply: JSON as the worker sent it
        pool_stats = worker_stats.get("pool") or {}
        result.append(
            {
                "name": name,
                "queues": sorted(q.get("name", "") for q in queues.get(name) or []),
                "concurrency": pool_stats.get("max-concurrency"),
                "active": len(active.get(name) or []),
            }
        )
    try:
        cache.set(CACHE_KEY, result, CACHE_SECONDS)
    except Exception:  # noqa: S110 - the cache only saves the next look a broadcast; the answer stands
        pass
    return result
