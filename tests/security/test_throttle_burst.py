"""Throttles are atomic: a burst of concurrent requests never gets past the limit.

DRF's own throttle reads the history, decides, then writes it back, so requests arriving together
all read the same history and all pass. Ours is one Lua script on the real Redis (the cache's
database): drop, count, add, in one step. The threads call the throttle itself (no database):
fifty concurrent HTTP requests would need fifty database connections on a shared server.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from pizzeria.security import throttles
from pizzeria.security.throttles import ClientIpThrottle

pytestmark = pytest.mark.django_db

BURST = 50
LIMIT = 10


def burst(call, n: int = BURST) -> list:
    """Run call() in n threads released at the same moment; their results."""
    start = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = call(i)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_fifty_concurrent_checks_let_exactly_the_limit_through(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"burst_ip": f"{LIMIT}/min"},
    }
    request = Request(APIRequestFactory().get("/", REMOTE_ADDR="198.51.100.9"))

    allowed = burst(lambda i: ClientIpThrottle("burst").allow_request(request, None))

    assert allowed.count(True) == LIMIT, Counter(allowed)
    refused = ClientIpThrottle("burst")
    assert refused.allow_request(request, None) is False
    assert 0 < refused.wait() <= 60  # until the oldest of the window leaves it


def test_the_read_then_write_throttle_this_replaces_lets_a_burst_through(settings, monkeypatch):
    # Breaking the guarantee on purpose: the same burst through DRF's read-decide-write history.
    from rest_framework.throttling import SimpleRateThrottle

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"racy_ip": f"{LIMIT}/min"},
    }
    request = Request(APIRequestFactory().get("/", REMOTE_ADDR="198.51.100.10"))
    monkeypatch.setattr(throttles._CacheThrottle, "allow_request", SimpleRateThrottle.allow_request)
    monkeypatch.setattr(
        throttles._CacheThrottle,
        "get_cache_key",
        lambda self, request, view: f"racy_{self.identity(request)}",
        raising=False,
    )
    # A slow cache read (a round trip under load) is what lets requests overtake each other.
    from django.core.cache.backends.redis import RedisCache

    real_get = RedisCache.get

    def slow_get(self, *args, **kwargs):
        threading.Event().wait(0.05)
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(RedisCache, "get", slow_get)

    allowed = burst(lambda i: ClientIpThrottle("racy").allow_request(request, None))

    assert allowed.count(True) > LIMIT
