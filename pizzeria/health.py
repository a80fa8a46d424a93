import logging
import time
import urllib.parse
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from pizzeria.celery import app
from pizzeria.redisclient import redis_client

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 1.0  # seconds per dependency: a load balancer's probe must not hang


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    with app.connection_for_write() as conn:
        # kombu takes seconds as a float; the stubs say int.
        conn.ensure_connection(max_retries=0, timeout=CHECK_TIMEOUT)  # type: ignore[arg-type]


def redis_servers() -> list[str]:
    """The Redis URLs a request needs besides the broker: the cache (throttles, lock-out, metrics
    counters) and REDIS_URL (live pages' pub/sub), one per server (a PING answers for its server)."""
    seen: dict[tuple[str, int | None], str] = {}
    for url in (settings.CACHES["default"]["LOCATION"], settings.REDIS_URL):
        parts = urllib.parse.urlsplit(url)
        seen.setdefault((parts.hostname or parts.path, parts.port), url)
    return list(seen.values())


def _redis() -> None:
    for url in redis_servers():
        # Past the Redis breaker on purpose: readiness asks Redis itself (1 s timeouts at most).
        redis_client(url).ping()


CHECKS: dict[str, Callable[[], None]] = {"database": _database, "broker": _broker, "redis": _redis}


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database, the broker and the Redis of cache, throttles and live pages answer;
    503 naming what failed otherwise.

    Public (load balancers call it), so an anonymous caller gets "ok" or "failed" per dependency
    and nothing more: no driver, exception or host names. Signed-in staff also get "details":
    each check's duration and, for a failed one, the exception. The cause always goes to the log.
    """
    checks: dict[str, str] = {}
    details: dict[str, dict] = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
            checks[name] = "ok"
            details[name] = {}
        except Exception as exc:  # any driver error means "not ready"
            logger.warning("readyz: %s check failed", name, exc_info=True)
            checks[name] = "failed"
            details[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        details[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    ok = all(v == "ok" for v in checks.values())
    body: dict = {"status": "ok" if ok else "unavailable", **checks}
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        body["details"] = details
    return JsonResponse(body, status=200 if ok else 503)
