import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database and the broker both answer; 503 naming what failed otherwise.

    Public (load balancers call it), so it says "ok" or "failed" per dependency and nothing
    more: no driver, exception or host names. The cause goes to the log.
    """
    from pizzeria.celery import app

    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # any driver error means "not ready"
        logger.warning("readyz: database check failed", exc_info=True)
        checks["database"] = "failed"
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=1)
        checks["broker"] = "ok"
    except Exception:
        logger.warning("readyz: broker check failed", exc_info=True)
        checks["broker"] = "failed"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", **checks}, status=200 if ok else 503)
