"""The Server-Sent Events stream behind the displays, fed by Redis pub/sub (kitchen.live).

The stream itself (hello on every connection, heartbeats, an end after KITCHEN_SSE_MAX_SECONDS
so EventSource reconnects) is pizzeria.live's, shared with the customers' order tracker. Streams
are async (no thread held, see docs/live-pages.md); still, one account may hold at most
KITCHEN_SSE_MAX_STREAMS_PER_USER of them (429 beyond), so a stolen login cannot take the
process's stream cap.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import cast

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from kitchen.access import display_required
from kitchen.live import CHANNEL
from pizzeria import live
from pizzeria.redisclient import redis_client

logger = logging.getLogger(__name__)


def _slots_key(user_id: int) -> str:
    # Under the cache's key prefix, so the tests' per-test cache cleanup clears it too.
    return f"{settings.CACHES['default']['KEY_PREFIX']}:kitchen-streams:{user_id}"


def stream_slot_acquire(*, user_id: int, max_seconds: float) -> str | None:
    """Take one of the user's stream slots; None when all are held.

    A sorted set of slot ids scored by when they lapse: a stream that ends releases its slot,
    and one whose process died lapses on its own after max_seconds (no counter to leak).
    """
    limit = settings.KITCHEN_SSE_MAX_STREAMS_PER_USER
    key, slot, now = _slots_key(user_id), uuid.uuid4().hex, time.time()
    try:
        client = redis_client(settings.REDIS_URL)
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
        redis_client(settings.REDIS_URL).zrem(_slots_key(user_id), slot)
    except (redis.RedisError, OSError):
        logger.warning("Could not release stream slot %s", slot, exc_info=True)


def _stream_open(request: HttpRequest) -> tuple[HttpResponse | None, int | None, str | None]:
    """The synchronous start of a display stream: who asks, and a slot.

    (response to send instead, user id, slot)."""
    refused = display_required(lambda request: None)(request)  # login page / 403 as every display page
    if refused is not None:
        return refused, None, None
    user_id = cast(int, request.user.pk)  # signed in: display_required let the request through
    slot = stream_slot_acquire(user_id=user_id, max_seconds=float(settings.KITCHEN_SSE_MAX_SECONDS))
    if slot is None:
        response = JsonResponse(
            {"detail": "Too many open display streams for this account; close another display first."},
            status=429,
        )
        response["Retry-After"] = "30"
        return response, None, None
    return None, user_id, slot


@live.stream_view(public=False)
@require_GET
async def board_events(request: HttpRequest) -> HttpResponseBase:
    refused, user_id, slot = await sync_to_async(_stream_open)(request)
    if refused is not None:
        return refused
    loop = asyncio.get_running_loop()
    # _stream_open returns both when it did not refuse.
    held_by, held_slot = cast(int, user_id), cast(str, slot)

    def release() -> None:
        # Off the event loop: a Redis that is away must not stall every other stream.
        loop.run_in_executor(None, lambda: stream_slot_release(user_id=held_by, slot=held_slot))

    events = live.sse_events(
        channel=CHANNEL,
        max_seconds=float(settings.KITCHEN_SSE_MAX_SECONDS),
        heartbeat=float(settings.KITCHEN_SSE_HEARTBEAT_SECONDS),
        on_close=release,
    )
    return live.sse_response(events)
