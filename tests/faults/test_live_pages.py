"""Live pages through a Redis restart: hundreds of open trackers, the web process as the Procfile runs it.

gunicorn with uvicorn workers (WEB_CONCURRENCY=2) serves pizzeria.asgi against the test database
and a private redis-server; a crowd of 300 tracker streams is held by an asyncio client in a
process of its own (bench.liveclient), from 30 loopback addresses (under the per-address cap).
Redis is SIGKILLed and started again empty; right after it answers, the order moves on. Every
page must show the new state within 5 s of the restart: the hub reconnects and says `hello`
(the page re-reads its status) or relays the change itself. No stream is closed meanwhile.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request

import pytest
import redis

from bench.liveclient import CrowdProcess
from bench.server import WebServer
from orders import services
from orders.tracker.tokens import tracker_path
from simulation.workerproc import queues_purge
from tests.factories import make_order
from tests.polling import wait_until
from tests.worker import _answers, free_port, worker_database_url

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

STREAMS = 300
SOURCES = [f"127.0.2.{n}" for n in range(1, 31)]  # 10 streams per address
RECOVERY_SECONDS = 5.0


def redis_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_until(lambda: _answers(port), timeout=10, interval=0.02, message=f"redis on {port}")
    return proc


def pubsub_connections(port: int) -> int:
    return sum(1 for c in redis.Redis(port=port).client_list() if int(c.get("sub", 0)))


@pytest.fixture
def private_redis_url(tmp_path):
    port = free_port()
    box = {"proc": redis_server(port), "port": port}
    yield box
    box["proc"].kill()
    box["proc"].wait()


@pytest.fixture
def web(private_redis_url, tmp_path):
    queues_purge()
    server = WebServer(
        "live-fault",
        {
            "DJANGO_SETTINGS_MODULE": "pizzeria.settings.test",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": f"redis://127.0.0.1:{private_redis_url['port']}/0",
            "WEB_CONCURRENCY": "2",
            "PYTHONPATH": os.getcwd(),
        },
        tmp_path,
    )
    server.start()
    yield server
    server.stop()
    queues_purge()


@pytest.fixture
def crowd():
    c = CrowdProcess()
    yield c
    c.close()


def test_every_open_tracker_catches_up_within_5s_of_a_redis_restart(
    web, private_redis_url, crowd, settings, recovery
):
    port = private_redis_url["port"]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"  # this process publishes where the web process listens
    order = make_order()
    opened = crowd.ask(
        cmd="open",
        url=f"{web.base_url}{tracker_path(order_id=order.pk)}events/",
        n=STREAMS,
        sources=SOURCES,
        deadline=60,
    )
    assert opened["hello"] == STREAMS, opened
    assert pubsub_connections(port) == 2  # one per web process, not one per viewer

    # when: Redis dies and comes back empty; the order moves on right after it answers
    private_redis_url["proc"].kill()
    private_redis_url["proc"].wait()
    time.sleep(1.0)
    private_redis_url["proc"] = redis_server(port)
    restarted = time.time()
    recovery.start()
    services.order_start_cooking(order_id=order.pk, actor="cook")
    changed = time.time()  # after the commit and its note

    # then: every stream hears of it (hello → re-read, or the change) within 5 s of the restart
    heard = crowd.ask(cmd="wait", since=changed, timeout=RECOVERY_SECONDS - (changed - restarted))
    recovery.stop()
    assert heard["got"] == STREAMS, f"{STREAMS - heard['got']} of {STREAMS} pages heard nothing: {heard}"
    slowest = heard["latencies_ms"][-1] / 1000 + (changed - restarted)
    assert slowest <= RECOVERY_SECONDS, heard
    stats = crowd.ask(cmd="stats")
    assert stats["connects"] == STREAMS and stats["held"] == STREAMS  # nobody was cut off meanwhile
    # what the pages re-read says cooking
    status_url = f"{web.base_url}{tracker_path(order_id=order.pk)}status/"
    with urllib.request.urlopen(status_url, timeout=5) as response:
        assert 'data-status="cooking"' in response.read().decode()
    assert pubsub_connections(port) == 2
