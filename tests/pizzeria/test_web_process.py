"""The web process exactly as the Procfile starts it (gunicorn + pizzeria.webworker + pizzeria.asgi).

A forged X-Forwarded-For does not move a client to another address (no proxy headers: one rule,
NUM_PROXIES), and SIGTERM with streams open still shuts the worker down cleanly before gunicorn's
SIGKILL (the streams are ended, the lifespan shutdown runs).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from bench.liveclient import CrowdProcess
from bench.server import WebServer
from orders.tracker.tokens import tracker_path
from tests.factories import make_order
from tests.polling import wait_until
from tests.worker import worker_database_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(tmp_path):
    server = WebServer(
        "live-web",
        {
            "DJANGO_SETTINGS_MODULE": "pizzeria.settings.test",
            "DATABASE_URL": worker_database_url(),
            "WEB_CONCURRENCY": "1",
            "LIVE_PUBLIC_STREAMS_PER_ADDRESS": "2",
            "NUM_PROXIES": "0",
            "PYTHONPATH": os.getcwd(),
        },
        tmp_path,
    )
    server.cmd[server.cmd.index("--workers") + 1] = "1"  # one process: one count per address
    server.start()
    yield server
    server.stop()


@pytest.fixture
def crowd():
    c = CrowdProcess()
    yield c
    c.close()


def test_a_forged_forwarded_for_does_not_dodge_the_per_address_cap(web, crowd):
    url = f"{web.base_url}{tracker_path(order_id=make_order().pk)}events/"

    opened = crowd.ask(cmd="open", url=url, n=3, xff=True, deadline=3)  # three "addresses", one peer

    assert opened["hello"] == 2, opened
    assert opened["statuses"].get("429", 0) >= 1, opened


def test_sigterm_with_streams_open_shuts_the_worker_down_cleanly(web, crowd):
    url = f"{web.base_url}{tracker_path(order_id=make_order().pk)}events/"
    assert crowd.ask(cmd="open", url=url, n=2, deadline=10)["hello"] == 2

    started = time.monotonic()
    web.proc.send_signal(signal.SIGTERM)
    web.proc.wait(timeout=30)

    log = web.log_path.read_text()
    assert "Application shutdown complete" in log, log[-2000:]  # the lifespan's shutdown ran
    assert "SIGKILL" not in log and "timeout graceful shutdown exceeded" not in log, log[-2000:]
    assert "Traceback" not in log, log[-2000:]  # the streams ended, nobody was cancelled
    assert web.proc.returncode == 0
    wait_until(lambda: crowd.ask(cmd="stats")["held"] == 0, timeout=5, message="the streams were closed")
    assert time.monotonic() - started < 10  # gunicorn's --graceful-timeout: it never had to kill
