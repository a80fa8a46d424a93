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
        from django.conf import settings
        from django.contrib.staticfiles.handlers import StaticFilesHandler
        from django.core.wsgi import get_wsgi_application
        from django.test.utils import modify_settings

        from pizzeria.livegate import LiveGate, site_pool, stream_handler

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        # Static files through the finders, as live_server does (the test settings drop whitenoise).
        self.site = site_pool(StaticFilesHandler(get_wsgi_application()), threads=settings.WEB_THREADS)
        self.app = LiveGate(streams=stream_handler(), site=self.site)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            lifespan="on",
            log_level="warning",
            timeout_graceful_shutdown=3,
            proxy_headers=False,
        )  # as pizzeria.webworker
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="asgi-live-server", daemon=True)
        # pytest-django's helper (autouse, for any test naming `live_server`) enables this per test.
        self._live_server_modified_settings = modify_settings(ALLOWED_HOSTS={"append": "127.0.0.1"})

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
        self._close_connections()

    def _close_connections(self) -> None:
        """Each pool thread and asgiref's sync thread keeps a database connection (CONN_MAX_AGE):
        close them, or the test database cannot be dropped."""
        from asgiref.sync import SyncToAsync
        from django.db import connections

        threads = len(self.site.executor._threads)
        if threads:
            barrier = threading.Barrier(threads, timeout=5)

            def close_here() -> None:
                connections.close_all()
                barrier.wait()  # one task per thread: each waits until all threads hold one

            for future in [self.site.executor.submit(close_here) for _ in range(threads)]:
                future.result(timeout=10)
        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
        self.site.executor.shutdown(wait=True)


@pytest.fixture(scope="module")
def asgi_live_server(django_db_setup):
    server = AsgiServer().start()
    yield server
    server.stop()
