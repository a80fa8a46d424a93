"""The one place product code gets a Redis client from (live notes, display stream slots, the live hub).

One client per URL and decoding, shared by the process's threads: redis-py's connection pool is
thread-safe and drops a parent's connections by itself in a forked child (Celery's prefork pool).
Callers name the URL (REDIS_URL, never the broker's or the cache's by accident). Timeouts are
short: a slow or absent Redis must not hang a request or a handler.
"""

from __future__ import annotations

import threading

import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

_clients: dict[tuple[str, bool], redis.Redis] = {}
_lock = threading.Lock()


def redis_client(url: str, *, decode_responses: bool = False) -> redis.Redis:
    """The process's client for `url`; replies are bytes unless decode_responses."""
    with _lock:
        client = _clients.get((url, decode_responses))
        if client is None:
            client = _clients[(url, decode_responses)] = redis.Redis.from_url(
                url,
                decode_responses=decode_responses,
                # Short: one wait, then the breaker (pizzeria.redisbreaker) skips Redis for a while.
                socket_connect_timeout=0.5,
                socket_timeout=1.0,
                health_check_interval=30,
            )
        return client


def redis_pubsub_client(url: str) -> redis.asyncio.Redis:
    """A new asyncio client for one long-lived pub/sub connection (pizzeria.livehub).

    Not shared: an asyncio client belongs to its event loop, and the hub makes a fresh one on each
    reconnection. No retries of its own (the hub reconnects and re-subscribes every channel
    itself), a short connect timeout, no read timeout (a subscription waits for notes)."""
    return redis.asyncio.Redis.from_url(
        url, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 0), health_check_interval=0
    )
