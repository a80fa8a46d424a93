"""The web process's router and stream caps (pizzeria.livegate), spoken to in ASGI directly.

The streams and site applications are stand-ins that record what reached them; a stream
stays open until the test lets it end, so the counts are the gate's own.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pizzeria.livegate import LiveGate, client_address

TRACKER = "/track/1/abcdef/events/"
KITCHEN = "/kitchen/events/"


class Apps:
    def __init__(self) -> None:
        self.site: list[str] = []
        self.streams: list[str] = []
        self.release = asyncio.Event()

    async def site_app(self, scope, receive, send) -> None:
        self.site.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"site"})

    async def streams_app(self, scope, receive, send) -> None:
        self.streams.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await self.release.wait()
        await send({"type": "http.response.body", "body": b""})


def scope(path: str, client: str = "203.0.113.5", xff: str | bytes | None = None) -> dict:
    raw = xff.encode() if isinstance(xff, str) else xff
    headers = [(b"x-forwarded-for", raw)] if raw is not None else []
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "",
        "client": (client, 40000),
        "headers": headers,
        "query_string": b"",
    }


async def call(gate: LiveGate, s: dict) -> dict:
    """Run one request until it answered (a stream's body stays open); its start and body."""
    sent: list[dict] = []
    started = asyncio.Event()

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.start":
            started.set()

    async def receive() -> dict:
        await asyncio.Event().wait()  # the client says nothing more
        return {}

    task = asyncio.create_task(gate(s, receive, send))
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return {"status": start["status"], "headers": dict(start["headers"]), "body": body, "task": task}


@pytest.fixture
def gate(settings):
    settings.LIVE_STREAMS_PER_PROCESS = 6
    settings.LIVE_PUBLIC_STREAMS_PER_ADDRESS = 3
    settings.LIVE_RETRY_AFTER_SECONDS = 7
    settings.LIVE_PUBLIC_STREAM_OPENS_PER_MINUTE = 600_000  # the open-rate cap has a test of its own

    def make(num_proxies: int = 0) -> tuple[LiveGate, Apps]:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
        apps = Apps()
        return LiveGate(streams=apps.streams_app, site=apps.site_app), apps

    return make


def test_streams_go_to_the_async_handler_and_everything_else_to_the_site(gate):
    async def scenario() -> None:
        g, apps = gate()
        for path in ("/api/menu/", "/healthz", "/track/1/abcdef/", "/no/such/page/"):
            assert (await call(g, scope(path)))["status"] == 200
        await call(g, scope(TRACKER))
        await call(g, scope(KITCHEN))
        assert apps.site == ["/api/menu/", "/healthz", "/track/1/abcdef/", "/no/such/page/"]
        assert apps.streams == [TRACKER, KITCHEN]
        apps.release.set()

    asyncio.run(scenario())


def test_public_streams_per_address_are_capped_with_429_and_retry_after(gate):
    async def scenario() -> None:
        g, apps = gate()
        held = [await call(g, scope(TRACKER)) for _ in range(3)]
        refused = await call(g, scope(TRACKER))

        assert [r["status"] for r in held] == [200, 200, 200]
        assert refused["status"] == 429 and refused["headers"][b"retry-after"] == b"7"
        assert "Too many live pages" in json.loads(refused["body"])["detail"]
        other = await call(g, scope(TRACKER, client="198.51.100.9"))
        staff = await call(g, scope(KITCHEN))
        assert other["status"] == 200  # another address
        assert staff["status"] == 200  # staff streams: the per-user cap instead
        assert len(apps.streams) == 5  # the refused one never reached Django
        assert g.open_by_address == {"203.0.113.5": 3, "198.51.100.9": 1}

        apps.release.set()  # the streams end: the address may open again
        await asyncio.gather(*(r["task"] for r in [*held, other, staff]))
        apps.release.clear()
        assert g.open_by_address == {} and g.open == 0
        assert (await call(g, scope(TRACKER)))["status"] == 200
        apps.release.set()

    asyncio.run(scenario())


def test_streams_per_process_are_capped_with_503_and_retry_after(gate):
    async def scenario() -> None:
        g, apps = gate()
        held = [await call(g, scope(TRACKER, client=f"10.0.0.{n}")) for n in range(6)]
        refused = await call(g, scope(KITCHEN))

        assert [r["status"] for r in held] == [200] * 6
        assert refused["status"] == 503 and refused["headers"][b"retry-after"] == b"7"
        assert (await call(g, scope("/api/menu/")))["status"] == 200  # the site never waits for streams
        apps.release.set()
        await asyncio.gather(*(r["task"] for r in held))
        assert g.open == 0

    asyncio.run(scenario())


def test_ten_thousand_attempts_from_one_address_cost_the_site_nothing(gate):
    async def scenario() -> None:
        g, apps = gate()
        statuses = [(await call(g, scope(TRACKER)))["status"] for _ in range(10_000)]
        assert statuses.count(200) == 3 and statuses.count(429) == 9_997
        assert len(apps.streams) == 3
        assert (await call(g, scope("/healthz")))["status"] == 200
        apps.release.set()

    asyncio.run(scenario())


def test_streams_opened_too_often_from_one_address_are_refused_until_the_bucket_refills(
    gate, settings, monkeypatch
):
    settings.LIVE_PUBLIC_STREAM_OPENS_PER_MINUTE = 60  # one a second, after a burst of 3 (the cap)
    clock = [1000.0]
    monkeypatch.setattr("pizzeria.livegate.time.monotonic", lambda: clock[0])

    async def scenario() -> None:
        g, apps = gate()
        apps.release.set()  # each stream ends at once: the open-streams cap never fills

        async def open_one(client: str = "203.0.113.5") -> dict:
            r = await call(g, scope(TRACKER, client=client))
            await r["task"]
            return r

        statuses = [(await open_one())["status"] for _ in range(4)]
        refused = await open_one()
        other = await open_one(client="198.51.100.9")
        clock[0] += 1.0
        again = await open_one()

        assert statuses == [200, 200, 200, 429] and refused["status"] == 429
        assert "opened too often" in json.loads(refused["body"])["detail"]
        assert refused["headers"][b"retry-after"] == b"7"
        assert other["status"] == 200  # per address
        assert again["status"] == 200  # a second later, one more
        assert g.refused["rate"] == 2

    asyncio.run(scenario())


def test_the_address_behind_a_proxy_is_the_forwarded_one_only_when_proxies_are_configured(gate):
    async def scenario() -> None:
        g, apps = gate(num_proxies=0)
        # No proxy configured: a forged X-Forwarded-For changes nothing.
        for n in range(3):
            await call(g, scope(TRACKER, xff=f"192.0.2.{n}"))
        assert (await call(g, scope(TRACKER, xff="192.0.2.99")))["status"] == 429
        apps.release.set()

        g, apps = gate(num_proxies=1)
        for n in range(4):
            assert (await call(g, scope(TRACKER, client="10.9.9.9", xff=f"192.0.2.{n}")))["status"] == 200
        apps.release.set()

    asyncio.run(scenario())


@hsettings(max_examples=60, deadline=None)
@given(
    xff=st.binary(max_size=3000) | st.text(max_size=3000).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_any_forwarded_header_gives_a_bounded_key(xff):
    key = client_address(scope(TRACKER, xff=xff), 1)
    assert isinstance(key, str) and 0 < len(key) <= 64
