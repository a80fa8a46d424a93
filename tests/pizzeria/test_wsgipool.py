"""The site's thread pool (pizzeria.wsgipool), spoken to in ASGI with a small WSGI app."""

from __future__ import annotations

import asyncio
import threading

from pizzeria.wsgipool import ThreadPoolSite

LIMIT = 1000


def echo_app(environ, start_response):
    """Echoes what Django's WSGI handler would read: at most CONTENT_LENGTH bytes of the body."""
    declared = environ.get("CONTENT_LENGTH") or "0"
    length = int(declared) if declared.isdigit() else 0  # Django's body-limit middleware: 400
    body = environ["wsgi.input"].read(length) if length <= LIMIT else b""
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Thread", threading.current_thread().name)])
    return [b"got:", body]


def big_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return (b"x" * 1000 for _ in range(50))  # 50,000 bytes: above the pool's buffer below


async def call(
    app, *, body_messages: list[dict], headers: list[tuple[bytes, bytes]]
) -> tuple[list[dict], int]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "root_path": "",
        "query_string": b"",
        "http_version": "1.1",
        "headers": headers,
        "client": ("203.0.113.5", 1),
        "server": ("t", 80),
    }
    messages = list(body_messages)
    sent: list[dict] = []
    received = 0

    async def receive() -> dict:
        nonlocal received
        received += 1
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent, received


def test_the_body_is_read_first_and_the_response_comes_back_whole():
    site = ThreadPoolSite(echo_app, threads=2, max_body=LIMIT)
    sent, _ = asyncio.run(
        call(
            site,
            headers=[(b"content-length", b"10")],
            body_messages=[
                {"type": "http.request", "body": b"hello", "more_body": True},
                {"type": "http.request", "body": b"world", "more_body": False},
            ],
        )
    )

    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]  # one message each
    assert sent[0]["status"] == 200 and (b"content-type", b"text/plain") in sent[0]["headers"]
    assert sent[1]["body"] == b"got:helloworld" and not sent[1].get("more_body")


def test_a_body_above_the_limit_or_without_a_length_is_never_read():
    site = ThreadPoolSite(echo_app, threads=2, max_body=LIMIT)
    for headers in ([(b"content-length", b"5000")], [], [(b"content-length", b"junk")]):
        sent, received = asyncio.run(
            call(
                site,
                headers=headers,
                body_messages=[{"type": "http.request", "body": b"z" * 5000, "more_body": False}],
            )
        )
        assert received == 0, headers  # not one message taken: Django's limit answers from the header
        assert sent[1]["body"] == b"got:"


def test_each_request_runs_on_one_of_the_pools_threads_which_live_on():
    site = ThreadPoolSite(echo_app, threads=2, max_body=LIMIT)

    async def many() -> set[bytes]:
        names = set()
        for _ in range(20):
            sent, _ = await call(site, headers=[], body_messages=[])
            names.add(dict(sent[0]["headers"])[b"x-thread"])
        return names

    names = asyncio.run(many())
    assert 1 <= len(names) <= 2 and all(n.startswith(b"web") for n in names)


def test_a_large_response_is_streamed_in_chunks():
    site = ThreadPoolSite(big_app, threads=2, max_body=LIMIT, buffer_bytes=10_000)
    sent, _ = asyncio.run(call(site, headers=[], body_messages=[]))

    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert sent[0]["type"] == "http.response.start" and len(bodies) > 2
    assert b"".join(m["body"] for m in bodies) == b"x" * 50_000
    assert bodies[-1].get("more_body") is False and all(m["more_body"] for m in bodies[:-1])
