"""The site's (non-stream) requests, served by Django's WSGI handler in a fixed thread pool.

What gunicorn's gthread worker did, inside the ASGI web process (pizzeria.livegate): each
thread keeps its database connection (CONN_MAX_AGE) and, running every request in the thread's
own contextvars context, its cache client and Redis connection.

Why not a2wsgi's WSGIMiddleware itself (whose `build_environ` this uses): it hands every
message between the event loop and the thread one at a time (the body read, the response start,
each body chunk), each a hop that waits for the other side to get the GIL. On a busy 2-core
machine those hops showed as a p99 of the order API 20-50 % above gthread's with the same
median. Here a request costs one hop each way: the loop reads the body first (no more than its
Content-Length, at most REQUEST_MAX_BODY_BYTES: what Django's WSGI handler would read; a larger
declared length gets an empty stream and the body-limit middleware's 413), and the thread hands
back the whole response. Only a response larger than `buffer_bytes` (a big static file) is
streamed, chunk by chunk.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi.wsgi import build_environ

Scope = dict[str, Any]


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # the body-limit middleware answers 400 from the header itself
    return 0  # no Content-Length: Django's WSGI handler reads no body either


class ThreadPoolSite:
    def __init__(self, app: Callable, *, threads: int, max_body: int, buffer_bytes: int = 1 << 20) -> None:
        self.app = app
        self.max_body = max_body
        self.buffer_bytes = buffer_bytes
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="web")

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        declared = _declared_length(scope)
        body = bytearray()
        if 0 < declared <= self.max_body:
            while len(body) < declared:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
        environ = build_environ(scope, io.BytesIO(bytes(body)))  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        # No context copied: the thread's own context, kept from one request to the next.
        result = await loop.run_in_executor(self.executor, self._run, environ, loop, send)
        if result is not None:
            status, headers, content = result
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})

    def _run(
        self, environ: Any, loop: asyncio.AbstractEventLoop, send: Callable
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """In a pool thread: the whole response, or None once it was streamed (too large to hold)."""
        started: list = []

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [
                int(status.split(" ", 1)[0]),
                [
                    (k.strip().lower().encode("latin1"), v.strip().encode("latin1"))
                    for k, v in response_headers
                ],
            ]
            return chunks.append  # the WSGI write() callable

        def hop(message: dict) -> None:
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        chunks: list[bytes] = []
        iterable: Iterable[bytes] = self.app(environ, start_response)
        size, streaming = 0, False
        try:
            for chunk in iterable:
                if streaming:
                    hop({"type": "http.response.body", "body": chunk, "more_body": True})
                    continue
                chunks.append(chunk)
                size += len(chunk)
                if size > self.buffer_bytes:
                    streaming = True
                    hop({"type": "http.response.start", "status": started[0], "headers": started[1]})
                    hop({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
                    chunks.clear()
        except OSError:
            return None  # the client went away while a large response was streamed
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()  # Django's request_finished: connections aged, caches closed as under gthread
        if streaming:
            try:
                hop({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:
                pass
            return None
        return started[0], started[1], b"".join(chunks)
