"""Live pages: small "changed" notes on Redis pub/sub, relayed to browsers as Server-Sent Events.

Writers call `publish_on_commit()`: the note goes out after the transaction commits, so a page
never re-reads before the change is visible, and publishing never raises (a page that misses a
note catches up on its next note or reconnect). Pages (the kitchen display, the order tracker)
open `sse_response(...)`: on every (re)connection it sends `event: hello`, then one
`event: changed` per note; the page re-fetches what it shows on both.

Streams are async views served on the event loop of the ASGI web process (pizzeria.asgi,
docs/live-pages.md): a stream holds no thread and no Redis connection of its own. Each joins the
process's hub (pizzeria.livehub: one subscription per channel, fanned out in memory), sends a
heartbeat comment every `heartbeat` seconds so dead clients are noticed, and ends after
`max_seconds`; EventSource then reconnects by itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.http import StreamingHttpResponse

from pizzeria import redisbreaker
from pizzeria.livehub import CLOSE, HELLO, hub
from pizzeria.redisclient import redis_client

logger = logging.getLogger(__name__)


def publish(channel: str, note: str) -> None:
    """Publish at once; carry on when Redis is away (the process's Redis breaker logs it once and
    skips Redis for a few seconds, so a frozen Redis costs one short wait, not one per note)."""
    try:
        redisbreaker.guarded(
            settings.REDIS_URL,
            f"live note on {channel}",
            lambda: redis_client(settings.REDIS_URL).publish(channel, note),
            default=None,
        )
    except Exception:  # never fail the commit that changed the page's data
        logger.warning("Could not publish live note on %s: %s", channel, note, exc_info=True)


def publish_on_commit(channel: str, **note: object) -> None:
    """Publish a JSON note once the current transaction commits (at once outside one)."""
    text = json.dumps({**note, "at": time.time()})
    transaction.on_commit(lambda: publish(channel, text))


async def sse_events(
    *,
    channel: str,
    max_seconds: float,
    heartbeat: float,
    relay: Callable[[dict], dict | None] = lambda note: note,
    on_close: Callable[[], None] | None = None,
) -> AsyncIterator[str]:
    """The event stream of one channel, fed by the process's hub (pizzeria.livehub). `relay`
    decides what of a note reaches the browser (None: nothing), so a public page never sees
    more than it should. `on_close` runs however the stream ends (client gone, dropped, done)."""
    viewer = None
    try:
        viewer = await hub().join(channel)
        yield "retry: 1000\n\n"  # headers and a first byte now; hello once the subscription is live
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        while (left := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(min(heartbeat, left)):
                    item = await viewer.queue.get()
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if item is HELLO:
                yield "event: hello\ndata: {}\n\n"
                continue
            if item is CLOSE:
                # Shutting down: the page reconnects (to another process) after 1 to 5 s, not all at once.
                yield f"retry: {random.randint(1000, 5000)}\n\n"  # noqa: S311 - spreading reconnects, not a secret
                return
            shown = relay(item)  # type: ignore[arg-type]
            if shown is not None:
                yield f"event: changed\ndata: {json.dumps(shown)}\n\n"
    finally:
        if viewer is not None:
            await hub().leave(viewer)
        if on_close is not None:
            on_close()


def sse_response(events: AsyncIterator[str]) -> StreamingHttpResponse:
    """An async streaming response: under ASGI it holds no thread, only a small coroutine."""
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response


_View = TypeVar("_View", bound=Callable[..., Any])


def stream_view(*, public: bool) -> Callable[[_View], _View]:
    """Mark an async view as a live stream: pizzeria.asgi serves it on the event loop and counts
    it against the per-process cap, and a public one against the per-address cap too."""

    def mark(view: _View) -> _View:
        view.live_stream = "public" if public else "staff"  # type: ignore[attr-defined]  # a marker on the function
        return view

    return mark
