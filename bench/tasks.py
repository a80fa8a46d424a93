"""The baseline: a bare Celery task that only counts itself in Redis (results are ignored)."""

from __future__ import annotations

import time

import redis
from celery import shared_task
from django.conf import settings

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


@shared_task(name="bench.noop", ignore_result=True)
def noop(counter_key: str) -> None:
    # One round trip: count, and stamp when the first and the last one finished (same clock as finished_at).
    pipe = redis_client().pipeline()
    pipe.incr(counter_key)
    now = repr(time.time())
    pipe.set(f"{counter_key}:t", now)
    pipe.set(f"{counter_key}:t0", now, nx=True)  # the first one done: a drain's clock starts there
    pipe.execute()
