"""The baseline: a bare Celery task that only counts itself in Redis (results are ignored)."""

from __future__ import annotations

import redis
from celery import shared_task
from django.conf import settings

from bench.noop import count_done

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


@shared_task(name="bench.noop", ignore_result=True)
def noop(counter_key: str) -> None:
    count_done(redis_client(), counter_key)
