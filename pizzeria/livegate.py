"""The web process's ASGI application: live streams on the event loop, the rest of the site on threads.

One process, one port (the Procfile's `web:` line: gunicorn with uvicorn workers). Each request's
path is resolved once:
- a view marked `live.stream_view(...)` (the tracker's and the displays' event streams) goes to
  Django's ASGI handler: an async view, a coroutine per open stream, no thread held;
- everything else goes to Django's WSGI application in a fixed pool of WEB_THREADS threads
  (pizzeria.wsgipool), as gunicorn's gthread worker ran it: the same persistent database
  connection per thread (CONN_MAX_AGE), which Django's ASGI handler would not keep (it runs each
  sync request in a new thread, so each request would open a connection of its own).

The stream caps are checked here, before Django runs a line for the request: past
LIVE_STREAMS_PER_PROCESS open streams → 503, past LIVE_PUBLIC_STREAMS_PER_ADDRESS open public
streams from one client address, or opened faster than LIVE_PUBLIC_STREAM_OPENS_PER_MINUTE
(after a burst as deep as that cap) → 429, all with Retry-After. Ten thousand attempts from one
address then cost a dictionary lookup each, and the order API keeps its threads.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, resolve

from pizzeria.livehub import close_hub
from pizzeria.wsgipool import ThreadPoolSite

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


def client_address(scope: Scope, num_proxies: int) -> str:
    """The client's address as the API's throttles see it (DRF's NUM_PROXIES rule)."""
    remote = (scope.get("client") or ("", 0))[0] or ""
    if num_proxies > 0:
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                addrs = value.decode("latin-1").split(",")
                return addrs[-min(num_proxies, len(addrs))].strip()[:64] or remote
    return remote


async def _refuse(send: Callable, status: int, retry_after: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class LiveGate:
    """Route each request (see the module docstring) and hold the stream counts of this process."""

    def __init__(self, *, streams: ASGIApp, site: ASGIApp) -> None:
        self.streams_app = streams
        self.site_app = site
        self.per_process = settings.LIVE_STREAMS_PER_PROCESS
        self.per_address = settings.LIVE_PUBLIC_STREAMS_PER_ADDRESS
        self.retry_after = settings.LIVE_RETRY_AFTER_SECONDS
        self.num_proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
        self.open = 0
        self.open_by_address: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        # Opens per address: a token bucket as deep as the per-address cap, refilled at
        # LIVE_PUBLIC_STREAM_OPENS_PER_MINUTE. The open-streams cap alone lets a client that hangs
        # up at once open stream after stream, each paying the view's token check and SELECT.
        self.open_rate = settings.LIVE_PUBLIC_STREAM_OPENS_PER_MINUTE / 60.0
        self.buckets: dict[str, tuple[float, float]] = {}  # address → (tokens, at)

    def stream_kind(self, scope: Scope) -> str | None:
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        try:
            return getattr(resolve(path).func, "live_stream", None)
        except Resolver404:
            return None

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        kind = self.stream_kind(scope) if scope["type"] == "http" else None
        if kind is None:
            await self.site_app(scope, receive, send)
            return
        if self.open >= self.per_process:
            self.refused["process"] += 1
            await _refuse(
                send, 503, self.retry_after, "This server holds as many live pages as it can; retrying."
            )
            return
        address = client_address(scope, self.num_proxies) if kind == "public" else None
        if address is not None and self.open_by_address[address] >= self.per_address:
            self.refused["address"] += 1
            await _refuse(send, 429, self.retry_after, "Too many live pages open from this address.")
            return
        if address is not None and not self.take_token(address):
            self.refused["rate"] += 1
            await _refuse(send, 429, self.retry_after, "Live pages opened too often from this address.")
            return
        self.open += 1
        if address is not None:
            self.open_by_address[address] += 1
        try:
            await self.streams_app(scope, receive, send)
        finally:
            self.open -= 1
            if address is not None:
                self.open_by_address[address] -= 1
                if self.open_by_address[address] <= 0:
                    del self.open_by_address[address]

    def take_token(self, address: str) -> bool:
        now = time.monotonic()
        tokens, at = self.buckets.get(address, (float(self.per_address), now))
        tokens = min(float(self.per_address), tokens + (now - at) * self.open_rate)
        if len(self.buckets) > 10_000:  # forget addresses whose bucket has refilled: bounded memory
            full = float(self.per_address)
            self.buckets = {
                a: (t, w) for a, (t, w) in self.buckets.items() if t + (now - w) * self.open_rate < full
            }
        if tokens < 1.0:
            self.buckets[address] = (tokens, now)
            return False
        self.buckets[address] = (tokens - 1.0, now)
        return True

    async def lifespan(self, receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await close_hub()
                await send({"type": "lifespan.shutdown.complete"})
                return


def stream_handler() -> Any:
    """Django's ASGI handler without its per-request ThreadSensitiveContext.

    Django gives each ASGI request a context of its own, so the request's synchronous parts
    (middleware, sync_to_async calls) run in a thread made for that request, which opens a
    database connection of its own and leaves it behind. Without the context they all run on
    asgiref's one synchronous thread of the process: a stream's synchronous start (a token check
    and one SELECT, a session lookup) takes about a millisecond, so one thread opens hundreds of
    streams a second, on one persistent database connection that Django's request signals
    (close_old_connections) age and health-check as usual."""

    class StreamHandler(ASGIHandler):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.handle(scope, receive, send)

    return StreamHandler()


def site_pool(wsgi_app: Any, *, threads: int) -> Any:
    """Django's WSGI application in a fixed pool of `threads` threads (pizzeria.wsgipool)."""
    return ThreadPoolSite(wsgi_app, threads=threads, max_body=settings.REQUEST_MAX_BODY_BYTES)


def build_application() -> LiveGate:
    """Django set up once; its ASGI handler for the streams, its WSGI handler for the site."""
    site = site_pool(get_wsgi_application(), threads=settings.WEB_THREADS)  # django.setup() first
    return LiveGate(streams=stream_handler(), site=site)
