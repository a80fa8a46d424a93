"""The live hub: one Redis subscription per channel per process, bounded fan-out, recovery.

Against a private redis-server (its own port), so the tests can count its clients and restart it.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess

import pytest
import redis

from pizzeria.livehub import HELLO, Hub
from tests.polling import wait_until
from tests.worker import _answers, free_port, private_redis

pytestmark = pytest.mark.faults


@pytest.fixture
def redis_port():
    port = free_port()
    with private_redis(port):
        yield port


async def next_item(viewer, timeout: float = 5.0):
    async with asyncio.timeout(timeout):
        return await viewer.queue.get()


async def wait_for(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def pubsub_clients(port: int) -> int:
    clients = redis.Redis(port=port).client_list()
    return sum(1 for c in clients if int(c.get("sub", 0)) or int(c.get("psub", 0)))


def test_many_viewers_share_one_connection_and_one_subscription_per_channel(redis_port):
    async def scenario() -> None:
        hub = Hub(f"redis://127.0.0.1:{redis_port}/0")
        try:
            kitchen = [await hub.join("kitchen") for _ in range(50)]
            tracker = [await hub.join("order:1") for _ in range(10)]
            for v in kitchen + tracker:
                assert await next_item(v) is HELLO  # only once the subscription is confirmed
            r = redis.Redis(port=redis_port)
            assert dict(r.pubsub_numsub("kitchen", "order:1")) == {b"kitchen": 1, b"order:1": 1}
            assert pubsub_clients(redis_port) == 1

            r.publish("kitchen", '{"order_id": 7}')
            for v in kitchen:
                assert await next_item(v) == {"order_id": 7}
            assert all(v.queue.empty() for v in tracker)  # another channel hears nothing

            for v in tracker:
                await hub.leave(v)
            await wait_for(lambda: dict(r.pubsub_numsub("order:1")) == {b"order:1": 0})
            assert dict(r.pubsub_numsub("kitchen")) == {b"kitchen": 1}
        finally:
            await hub.close()

    asyncio.run(scenario())


def test_a_viewer_that_stops_reading_is_dropped_at_its_buffer_and_the_others_get_everything(redis_port):
    async def scenario() -> None:
        hub = Hub(f"redis://127.0.0.1:{redis_port}/0", buffer=4)
        try:
            stuck = asyncio.Event()

            async def never_reads() -> None:
                viewer = await hub.join("kitchen")
                await stuck.wait()  # a client that stopped reading: its queue only fills
                assert viewer  # pragma: no cover

            slow = asyncio.create_task(never_reads())
            joined = asyncio.Event()

            async def reads() -> list:
                viewer = await hub.join("kitchen")
                assert await next_item(viewer) is HELLO
                joined.set()
                return [(await next_item(viewer))["n"] for _ in range(10)]

            reader = asyncio.create_task(reads())
            await joined.wait()
            r = redis.Redis(port=redis_port)
            for n in range(10):
                r.publish("kitchen", f'{{"n": {n}}}')
                await asyncio.sleep(0.01)  # a reader that keeps up
            seen = await reader

            assert seen == list(range(10))
            await wait_for(slow.done)
            assert slow.cancelled() and hub.dropped == 1  # dropped (its request ended), never buffered on
            assert hub.open_streams() == 1
        finally:
            await hub.close()

    asyncio.run(scenario())


def redis_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_until(lambda: _answers(port), timeout=10, message=f"redis on {port}")
    return proc


def test_after_a_redis_restart_every_viewer_hears_hello_then_the_next_change():
    redis_port = free_port()

    async def scenario(proc_box: list) -> None:
        hub = Hub(f"redis://127.0.0.1:{redis_port}/0")
        try:
            viewers = [await hub.join(f"order:{n % 5}") for n in range(100)]
            for v in viewers:
                assert await next_item(v) is HELLO
            connects = hub.connects

            proc_box[0].kill()  # Redis dies: notes published meanwhile are lost
            proc_box[0].wait()
            await asyncio.sleep(0.5)
            proc_box[0] = redis_server(redis_port)
            # Every page hears hello again (and re-reads its state) ...
            for v in viewers:
                assert await next_item(v, timeout=5) is HELLO
            assert hub.connects == connects + 1
            # ... and the next change reaches every one of them.
            r = redis.Redis(port=redis_port)
            for n in range(5):
                assert r.publish(f"order:{n}", '{"status": "cooking"}') == 1  # one subscriber: the hub
            for v in viewers:
                assert await next_item(v) == {"status": "cooking"}
        finally:
            await hub.close()

    box = [redis_server(redis_port)]
    try:
        asyncio.run(scenario(box))
    finally:
        with contextlib.suppress(ProcessLookupError):
            box[0].terminate()
        box[0].wait(timeout=10)
