"""Live pages: small "changed" notes on Redis pub/sub, relayed to browsers as Server-Sent Events.

Writers call `publish_on_commit()`: the note goes out after the transaction commits, so a page
never re-reads before the change is visible, and publishing never raises (a page that misses a
note catches up on its next note or reconnect). Pages (the kitchen display, the order tracker)
open `sse_response(...)`: on every (re)connection it sends `event: hello`, then one
`event: changed` per note; the page re-fetches what it shows on both.

A stream holds a web server thread for its whole life (gunicorn's gthread worker, see the
Procfile): it gives its database connection back first, sends a heartbeat comment every
`heartbeat` seconds so dead clients are noticed, and ends after `max_seconds`; EventSource then
reconnects by itself, so no thread is held forever.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator

import redis
from django.conf import settings
from django.db import connections, transaction
from django.http import StreamingHttpResponse

from pizzeria import redisbreaker
from pizzeria.redisclient import redis_client

logger = logging.getLogger(__name__)

def publish(channel: str, note: str) -> None:
    """Publish at once; carry on when Redis is away (the process's Redis breaker logs it once and
    skips Redis for a few seconds, so a frozen Redis costs one short wait, not one per note)."""
    try:
        redisbreaker.guarded(settings.REDIS_URL, f"live note on {channel}",
                             lambda: redis_client(settings.REDIS_URL).publish(channel, note), default=None)
    except Exception:  # never fail the commit that changed the page's data
        logger.warning("Could not publish live note on %s: %s", channel, note, exc_info=True)


def publish_on_commit(channel: str, **note) -> None:
    """Publish a JSON note once the current transaction commits (at once outside one)."""
    text = json.dumps({**note, "at": time.time()})
    transaction.on_commit(lambda: publish(channel, text))


def sse_events(
    *,
    channel: str,
    max_seconds: float,
    heartbeat: float,
    relay: Callable[[dict], dict | None] = lambda note: note,
) -> Iterator[str]:
    """The event stream of one channel. `relay` decides what of a note reaches the browser
    (None: nothing), so a public page never sees more than it should."""
    pubsub = redis_client(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(channel)
        yield "retry: 1000\nevent: hello\ndata: {}\n\n"
        started = last_sent = time.monotonic()
        while time.monotonic() - started < max_seconds:
            message = pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if message is not None:
                data = message["data"].decode() if isinstance(message["data"], bytes) else str(message["data"])
                shown = relay(json.loads(data))
                if shown is not None:
                    yield f"event: changed\ndata: {json.dumps(shown)}\n\n"
                    last_sent = now
            if now - last_sent >= heartbeat:
                yield ": heartbeat\n\n"
                last_sent = now
    except (redis.RedisError, OSError, ValueError):
        logger.warning("Live event stream on %s interrupted", channel, exc_info=True)
        yield "retry: 5000\nevent: error\ndata: {}\n\n"
    finally:
        pubsub.close()


def sse_response(events: Iterator[str]) -> StreamingHttpResponse:
    # Streaming can last minutes: never hold a database connection (or a transaction) meanwhile.
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response
