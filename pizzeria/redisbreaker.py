"""One circuit breaker per Redis server per process, shared by every Redis call on the request path.

Why: each of those calls (two throttles, the lock-out, the on-commit publish, the live-page note,
the metrics counters) already "fails open with a warning", but one after another: with Redis
frozen (SIGSTOP, a fork on a big dataset, a half-open link) an order waited for every one of
their timeouts in turn, 12 s in all, on every request. Behind one breaker the first call that
times out opens it and every Redis call to that server is skipped for REDIS_BREAKER_SECONDS,
so a request pays at most one short wait; after the pause the next call tries Redis again (and
either closes the breaker or opens it for another pause).

Keyed by server (host, port or socket path), not by URL: the cache's database and the broker's
are the same Redis process when they share a server, and a frozen process freezes both.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import TypeVar

import redis
from django.conf import settings
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

T = TypeVar("T")
# What "Redis did not answer" looks like: redis-py's TimeoutError and ConnectionError, the
# socket's own (kombu lets OSError through on a broken connection). Only these open the breaker:
# an error Redis answered with (OOM, a wrong type) cost no wait, so there is nothing to save.
AWAY_ERRORS: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)

_open_until: dict[str, float] = {}
_lock = threading.Lock()


def server_of(url: str) -> str:
    """'host:port' (or the socket path) of a Redis URL: the breaker's key."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def is_open(url: str) -> bool:
    """True while calls to this Redis server are being skipped."""
    return time.monotonic() < _open_until.get(server_of(url), 0.0)


def trip(url: str, what: str, error: BaseException | None = None) -> None:
    """Skip this server for REDIS_BREAKER_SECONDS (logged once per opening, not per call)."""
    server, pause = server_of(url), settings.REDIS_BREAKER_SECONDS
    with _lock:
        already = time.monotonic() < _open_until.get(server, 0.0)
        _open_until[server] = time.monotonic() + pause
    if not already:
        cause = f": {type(error).__name__}: {error}" if error is not None else ""
        logger.warning("Redis at %s did not answer (%s%s): skipping it for %ss", server, what, cause, pause)


def reset() -> None:
    """Close every breaker (tests; a process that knows Redis is back)."""
    with _lock:
        _open_until.clear()


def guarded(url: str, what: str, call: Callable[[], T], *, default: T) -> T:
    """call() unless the breaker of url's server is open; on a Redis error open it and return default."""
    if is_open(url):
        return default
    try:
        return call()
    except AWAY_ERRORS as exc:
        trip(url, what, exc)
        return default
    except redis.RedisError:
        logger.warning("Redis at %s refused %s; carrying on without it", server_of(url), what, exc_info=True)
        return default


def did_not_answer(exc: BaseException) -> bool:
    """True if exc, or what caused it (kombu wraps redis-py's errors), says Redis did not answer."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (*AWAY_ERRORS, OperationalError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def cache_url() -> str:
    return settings.CACHES["default"]["LOCATION"]
