"""Per-address and per-account throttles kept in the shared cache (settings.CACHES: Redis).

DRF's throttles store their history in Django's default cache; with a Redis cache every gunicorn
worker and machine counts against the same history, where the old per-process memory let each
worker allow the full rate again. Rates are looked up when a request comes in (DRF reads them
once at import), under "<scope>_ip" and "<scope>_user" in REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES; a scope without a rate is not throttled.

If the cache cannot be reached the request is let through and a warning logged: a Redis outage
already shows on /readyz, and refusing every login and order because of it would turn a
degraded cache into a full outage. The failed-login lockout (django-axes) is the hard limit.
"""

from __future__ import annotations

import hashlib
import logging

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from pizzeria.security.lockout import CACHE_ERRORS
from pizzeria.security.text import stable_bytes

logger = logging.getLogger(__name__)


class _CacheThrottle(SimpleRateThrottle):
    kind = ""

    def __init__(self, scope: str) -> None:
        self.scope = f"{scope}_{self.kind}"
        super().__init__()

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS:
            logger.warning("Throttle %s skipped: the cache is unreachable", self.scope, exc_info=True)
            return True

    def identity(self, request) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request, view) -> str | None:
        ident = self.identity(request)
        return None if ident is None else self.cache_format % {"scope": self.scope, "ident": ident}


class ClientIpThrottle(_CacheThrottle):
    """Counts per client address (REMOTE_ADDR, or X-Forwarded-For behind NUM_PROXIES proxies)."""

    kind = "ip"

    def identity(self, request) -> str | None:
        ident = self.get_ident(request)
        # X-Forwarded-For is whatever the client wrote when NUM_PROXIES trusts it: keep the key short.
        return ident if ident is None or len(ident) <= 45 else "h" + hashlib.sha256(stable_bytes(ident)).hexdigest()[:32]


class AccountThrottle(_CacheThrottle):
    """Counts per account: the signed-in user, or on the token endpoint the username tried.

    Per-username counting is what stops a password spray that rotates addresses; the name is
    hashed so the cache key is short and safe whatever was typed.
    """

    kind = "user"

    def identity(self, request) -> str | None:
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
