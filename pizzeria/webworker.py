"""The web process's gunicorn worker class (Procfile `web:`): uvicorn's, with two choices of ours.

- No proxy headers: uvicorn would otherwise replace the client address by X-Forwarded-For from
  any peer in gunicorn's --forwarded-allow-ips (127.0.0.1 by default), so a local client could
  pick its own address. The project has one rule for that, as under gthread: REMOTE_ADDR is the
  peer, and only NUM_PROXIES (the API's throttles, the live-stream caps) and
  SECURE_PROXY_SSL_HEADER read the proxies' headers.
- Live streams end when the worker shuts down: they never end by themselves, and uvicorn would
  wait for them until gunicorn's SIGKILL. On SIGTERM the hub tells every stream to finish
  (pizzeria.livehub.drain_hub: a clean end of the response, the page reconnects after 1-5 s),
  then uvicorn shuts down as usual; a graceful timeout shorter than gunicorn's is the backstop.
"""

from __future__ import annotations

import socket
import sys
from typing import Any, ClassVar

from gunicorn.arbiter import Arbiter  # type: ignore[import-untyped]  # gunicorn ships no types
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker  # type: ignore[import-untyped]  # no py.typed marker

from pizzeria.livehub import drain_hub


class DrainingServer(Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        drain_hub()
        await super().shutdown(sockets=sockets)


class WebWorker(UvicornWorker):
    CONFIG_KWARGS: ClassVar[dict] = {**UvicornWorker.CONFIG_KWARGS, "proxy_headers": False}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config.timeout_graceful_shutdown = max(1, int(self.cfg.graceful_timeout) - 3)

    async def _serve(self) -> None:
        # uvicorn-worker 0.4.0's, with the draining server.
        self.config.app = self.wsgi
        server = DrainingServer(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
