"""Per-address and per-account throttles kept in the shared cache's Redis, atomic, one round trip.

Every gunicorn worker and machine counts against the same history in Redis (the cache's
database). Rates are looked up when a request comes in (DRF reads them once at import), under
"<scope>_ip" and "<scope>_user" in REST_FRAMEWORK's DEFAULT_THROTTLE_RATES; a scope without a rate
is not throttled.

Why not DRF's SimpleRateThrottle as it is: it reads the history, decides in Python and writes it
back (two round trips, and a burst of concurrent requests all read the same history and all pass).
Here one small Lua script does the same sliding-window log (a sorted set of request times, the
server's clock) atomically: drop what left the window, count, add this request if under the
limit, else answer how long until the oldest leaves. One EVALSHA per throttle per request.

If Redis does not answer the request is let through and a warning logged, and the process's
Redis breaker (pizzeria.redisbreaker) skips Redis for a few seconds: a Redis outage already shows
on /readyz, and refusing every login and order because of it would turn a degraded cache into a
full outage. The failed-login lockout (django-axes) is the hard limit.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import TYPE_CHECKING, cast

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from pizzeria import redisbreaker
from pizzeria.security.text import stable_bytes

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# KEYS[1] the window's sorted set; ARGV: window (ms), limit, a unique member for this request.
# Returns {1, 0} when allowed, {0, ms until a slot frees} when not.
SLIDING_WINDOW = """
local key, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
"""
_script = None


def _window_hit(key: str, *, window_ms: int, limit: int) -> tuple[bool, float]:
    """(allowed, seconds to wait) for one request against the key's window, in one round trip."""
    global _script
    # Django's RedisCache (the cache in every setting) keeps its redis-py client behind _cache.
    client = cache._cache.get_client(key, write=True)  # type: ignore[attr-defined]
    if _script is None:
        _script = client.register_script(SLIDING_WINDOW)  # EVALSHA, EVAL once if the server lacks it
    allowed, wait_ms = _script(keys=[key], args=[window_ms, limit, uuid.uuid4().hex], client=client)
    return bool(allowed), max(int(wait_ms), 0) / 1000


class _CacheThrottle(SimpleRateThrottle):
    kind = ""
    scope: str
    # Set by SimpleRateThrottle.__init__ from the rate (None without one); DRF's stubs omit them.
    num_requests: int | None
    duration: int | None

    def __init__(self, scope: str) -> None:
        self.scope = f"{scope}_{self.kind}"
        self._wait: float | None = None
        super().__init__()

    def get_rate(self) -> str | None:
        # DRF's stubs type the rates as numbers; they are "<n>/<period>" strings, as DRF parses them.
        return cast("str | None", api_settings.DEFAULT_THROTTLE_RATES.get(self.scope))

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:  # all set together
            return True
        window_ms, limit = self.duration * 1000, self.num_requests
        ident = self.identity(request)
        if ident is None:
            return True
        key = cache.make_key(self.cache_format % {"scope": self.scope, "ident": ident})
        let_through: tuple[bool, float | None] = (True, None)
        allowed, self._wait = redisbreaker.guarded(
            redisbreaker.cache_url(),
            f"throttle {self.scope}",
            lambda: _window_hit(key, window_ms=window_ms, limit=limit),
            default=let_through,
        )
        return allowed

    def wait(self) -> float | None:
        return self._wait

    def identity(self, request: Request) -> str | None:
        raise NotImplementedError


class ClientIpThrottle(_CacheThrottle):
    """Counts per client address (REMOTE_ADDR, or X-Forwarded-For behind NUM_PROXIES proxies)."""

    kind = "ip"

    def identity(self, request: Request) -> str | None:
        ident = self.get_ident(request)
        # X-Forwarded-For is whatever the client wrote when NUM_PROXIES trusts it: keep the key short.
        return (
            ident
            if ident is None or len(ident) <= 45
            else "h" + hashlib.sha256(stable_bytes(ident)).hexdigest()[:32]
        )


class AccountThrottle(_CacheThrottle):
    """Counts per account: the signed-in user, or on the token endpoint the username tried.

    Per-username counting is what stops a password spray that rotates addresses; the name is
    hashed so the cache key is short and safe whatever was typed.
    """

    kind = "user"

    def identity(self, request: Request) -> str | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"u{user.pk}"
        data = request.data if hasattr(request.data, "get") else {}
        username = data.get("username")
        if not isinstance(username, str) or not username.strip():
            return None
        # surrogatepass: a lone surrogate ("a\ud800" through a JSON escape) still hashes to a key;
        # the serializer refuses the name itself with a 400 after the throttle has counted it.
        return "n" + hashlib.sha256(stable_bytes(username.strip().lower())).hexdigest()[:32]


def throttles_for(scope: str) -> list[_CacheThrottle]:
    """The address throttle and the account throttle of one scope."""
    return [ClientIpThrottle(scope), AccountThrottle(scope)]
