"""The web process's ASGI application (pizzeria.livegate) under uvicorn, in a thread of the test process.

What `make run` serves (uvicorn's event loop and HTTP parser, the streams async, the site in the
thread pool), in-process so that the `settings` fixture reaches it, like pytest-django's
`live_server` (which is a threaded WSGI server and would not serve a stream the way production
does). A module that wants it as its `live_server`:

    from tests.asgiserver import asgi_live_server
    live_server = asgi_live_server
"""

from __future__ import annotations

import socket
import threading
import time

import pytest


class AsgiServer:
    def __init__(self) -> None:
        import uvicorn
        from a2wsgi import WSGIMiddleware
        from django.conf import settings
        from django.contrib.staticfiles.handlers import StaticFilesHandler
        from django.core.wsgi import get_wsgi_application

        from pizzeria.livegate import LiveGate, stream_handler

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        # Static files through the finders, as live_server does (the test settings drop whitenoise).
        site = WSGIMiddleware(StaticFilesHandler(get_wsgi_application()), workers=settings.WEB_THREADS)
        self.app = LiveGate(streams=stream_handler(), site=site)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning",
                                timeout_graceful_shutdown=3)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="asgi-live-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AsgiServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="module")
def asgi_live_server(django_db_setup):
    server = AsgiServer().start()
    yield server
    server.stop()
