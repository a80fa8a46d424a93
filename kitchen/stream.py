"""The Server-Sent Events stream behind the displays, fed by Redis pub/sub (kitchen.live).

A stream holds a web server thread (or greenlet) for its whole life, so the Procfile runs
gunicorn with the gthread worker class and enough threads for every open display, and one
account may hold at most KITCHEN_SSE_MAX_STREAMS_PER_USER of them (429 beyond). The view
gives its database connection back before streaming, sends a comment as heartbeat every
SSE_HEARTBEAT seconds (proxies and dead clients are noticed), and ends after SSE_MAX_SECONDS:
EventSource reconnects by itself (after `retry` ms), so no thread is held forever.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

import redis
from django.conf import settings
from django.db import connections
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from kitchen.access import display_required
from kitchen.live import CHANNEL, redis_client

logger = logging.getLogger(__name__)


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _slots_key(user_id: int) -> str:
    # Under the cache's key prefix, so the tests' per-test cache cleanup clears it too.
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'pizzeria')}:kitchen-streams:{user_id}"


def stream_slot_acquire(*, user_id: int, max_seconds: float) -> str | None:
    """Take one of the user's stream slots; None when all are held.

    A sorted set of slot ids scored by when they lapse: a stream that ends releases its slot,
    and one whose process died lapses on its own after max_seconds (no counter to leak).
    """
    limit = int(getattr(settings, "KITCHEN_SSE_MAX_STREAMS_PER_USER", 4))
    key, slot, now = _slots_key(user_id), uuid.uuid4().hex, time.time()
    try:
        client = redis_client()
        pipe = client.pipeline()  # MULTI/EXEC: the count and the add are one step
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {slot: now + max_seconds + 30})
        pipe.zcard(key)
        pipe.expire(key, int(max_seconds) + 60)
        held = pipe.execute()[2]
        if held > limit:
            client.zrem(key, slot)
            return None
    except (redis.RedisError, OSError):
        logger.warning("Stream slots unavailable; not counting this stream", exc_info=True)
    return slot


def stream_slot_release(*, user_id: int, slot: str) -> None:
    try:
        redis_client().zrem(_slots_key(user_id), slot)
    except (redis.RedisError, OSError):
        logger.warning("Could not release stream slot %s", slot, exc_info=True)


def _events(*, max_seconds: float, heartbeat: float, release=None):
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
        if release is not None:
            release()


@require_GET
@display_required
def board_events(request):
    max_seconds = _setting("KITCHEN_SSE_MAX_SECONDS", 300)
    user_id = request.user.pk
    slot = stream_slot_acquire(user_id=user_id, max_seconds=max_seconds)
    if slot is None:
        response = JsonResponse(
            {"detail": "Too many open display streams for this account; close another display first."},
            status=429,
        )
        response["Retry-After"] = "30"
        return response
    # Streaming can last minutes: never hold a database connection (or a transaction) meanwhile.
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()
    response = StreamingHttpResponse(
        _events(
            max_seconds=max_seconds,
            heartbeat=_setting("KITCHEN_SSE_HEARTBEAT_SECONDS", 15),
            release=lambda: stream_slot_release(user_id=user_id, slot=slot),
        ),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response

