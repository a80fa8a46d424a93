"""The Server-Sent Events stream behind the displays, fed by Redis pub/sub (kitchen.live).

A stream holds a web server thread (or greenlet) for its whole life, so the Procfile runs
gunicorn with the gthread worker class and enough threads for every open display. The view
gives its database connection back before streaming, sends a comment as heartbeat every
SSE_HEARTBEAT seconds (proxies and dead clients are noticed), and ends after SSE_MAX_SECONDS:
EventSource reconnects by itself (after `retry` ms), so no thread is held forever.
"""

from __future__ import annotations

import json
import logging
import time

import redis
from django.conf import settings
from django.db import connections
from django.http import StreamingHttpResponse
from django.views.decorators.http import require_GET

from kitchen.access import kitchen_staff_required
from kitchen.live import CHANNEL, redis_client

logger = logging.getLogger(__name__)


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _events(*, max_seconds: float, heartbeat: float):
    pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(CHANNEL)
        yield "retry: 1000\nevent: hello\ndata: {}\n\n"
        started = last_sent = time.monotonic()
        while time.monotonic() - started < max_seconds:
            message = pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if message is not None:
                data = message["data"].decode() if isinstance(message["data"], bytes) else str(message["data"])
                yield f"event: changed\ndata: {json.dumps(json.loads(data))}\n\n"
                last_sent = now
            elif now - last_sent >= heartbeat:
                yield ": heartbeat\n\n"
                last_sent = now
    except (redis.RedisError, OSError, ValueError):
        logger.warning("Kitchen event stream interrupted", exc_info=True)
        yield "retry: 5000\nevent: error\ndata: {}\n\n"
    finally:
        pubsub.close()


@require_GET
@kitchen_staff_required
def board_events(request):
    # Streaming can last minutes: never hold a database connection (or a transaction) meanwhile.
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()
    response = StreamingHttpResponse(
        _events(
            max_seconds=_setting("KITCHEN_SSE_MAX_SECONDS", 300),
            heartbeat=_setting("KITCHEN_SSE_HEARTBEAT_SECONDS", 15),
        ),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response

