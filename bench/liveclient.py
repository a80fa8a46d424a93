"""A crowd of live-page viewers: N Server-Sent Events streams held by one asyncio process.

    python -m bench.liveclient   → reads one JSON command a line on stdin, answers one JSON line

Used by `make bench`'s live phase and by the live-page fault test, always as a process of its own
(its CPU and memory are not the server's). Each stream is a plain HTTP/1.1 GET on its own socket,
read line by line, and behaves like the browser's EventSource: when a 200 stream ends or breaks
it reconnects after a second. Commands:

  {"cmd": "open", "url": ..., "n": N, "sources": ["127.0.1.1", ...] | null, "xff": bool}
      open N streams (round-robin over the source addresses, or each with its own
      X-Forwarded-For); answers once each got `hello` or `deadline` passed:
      {"held", "hello", "statuses", "errors", "seconds"}
  {"cmd": "wait", "since": unix time, "timeout": s}
      until every stream received an event (hello or changed) at or after `since`:
      {"streams", "got", "latencies_ms" (sorted, receive time - since), "seconds"}
  {"cmd": "burst", "url": ..., "n": 10000, "concurrency": 50}
      n connection attempts from this one address; each reads the status and hangs up:
      {"statuses", "errors", "seconds"}
  {"cmd": "stats"}  → {"held", "connects", "statuses", "errors", "events"}
  {"cmd": "close"}  → closes everything, answers stats, exits
"""

from __future__ import annotations

import asyncio
import collections
import json
import subprocess
import sys
import time
import urllib.parse
from typing import Any


def xff_address(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


class Stream:
    def __init__(self, crowd: Crowd, i: int, source: str | None, xff: str | None) -> None:
        self.crowd, self.i, self.source, self.xff = crowd, i, source, xff
        self.connected = False
        self.hello = asyncio.Event()
        self.events: collections.deque[tuple[str, float]] = collections.deque(maxlen=32)
        self.task: asyncio.Task | None = None

    async def run(self) -> None:
        u = self.crowd.url
        while not self.crowd.closing:
            try:
                await self._once(u)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                self.crowd.errors[type(exc).__name__] += 1
            self.connected = False
            await asyncio.sleep(1.0)  # EventSource's retry

    async def _once(self, u: urllib.parse.SplitResult) -> None:
        kwargs: dict[str, Any] = {"local_addr": (self.source, 0)} if self.source else {}
        reader, writer = await asyncio.open_connection(u.hostname, u.port, limit=65536, **kwargs)
        try:
            extra = f"X-Forwarded-For: {self.xff}\r\n" if self.xff else ""
            writer.write(
                (
                    f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nAccept: text/event-stream\r\n"
                    f"Cache-Control: no-cache\r\n{extra}\r\n"
                ).encode()
            )
            status_line = await reader.readline()
            status = int(status_line.split()[1]) if status_line else 0
            self.crowd.statuses[status] += 1
            self.crowd.connects += 1
            while (await reader.readline()).strip():
                pass  # headers
            if status != 200:
                return
            self.connected = True
            while line := await reader.readline():
                if line.startswith(b"event:"):  # the body is chunked: only whole "event:" lines matter
                    kind = line[6:].strip().decode()
                    now = time.time()
                    self.events.append((kind, now))
                    self.crowd.event_counts[kind] += 1
                    if kind == "hello":
                        self.hello.set()
        finally:
            writer.close()


class Crowd:
    def __init__(self) -> None:
        self.streams: list[Stream] = []
        self.closing = False
        self.connects = 0
        self.statuses: collections.Counter[int] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.event_counts: collections.Counter[str] = collections.Counter()
        self.url = urllib.parse.urlsplit("http://127.0.0.1/")

    async def open(self, cmd: dict) -> dict:
        self.url = urllib.parse.urlsplit(cmd["url"])
        sources, t0 = cmd.get("sources") or [None], time.perf_counter()
        start = len(self.streams)
        batch = int(cmd.get("batch", 200))  # connect in waves: a SYN flood is not what is measured
        for i in range(start, start + int(cmd["n"])):
            s = Stream(self, i, sources[i % len(sources)], xff_address(i) if cmd.get("xff") else None)
            s.task = asyncio.get_running_loop().create_task(s.run())
            self.streams.append(s)
            if (i - start + 1) % batch == 0:
                await asyncio.sleep(0.05)
        new = self.streams[start:]
        deadline = time.perf_counter() + float(cmd.get("deadline", 60))
        while time.perf_counter() < deadline and not all(s.hello.is_set() for s in new):
            await asyncio.sleep(0.1)
        return {
            "held": sum(s.connected for s in self.streams),
            "hello": sum(s.hello.is_set() for s in new),
            "statuses": dict(self.statuses),
            "errors": dict(self.errors),
            "seconds": round(time.perf_counter() - t0, 2),
        }

    async def wait(self, cmd: dict) -> dict:
        since, t0 = float(cmd["since"]), time.perf_counter()
        deadline = t0 + float(cmd.get("timeout", 10))

        def first_after(s: Stream) -> float | None:
            return next((at for _, at in s.events if at >= since), None)

        while time.perf_counter() < deadline:
            if all(first_after(s) is not None for s in self.streams):
                break
            await asyncio.sleep(0.02)
        got = [at for s in self.streams if (at := first_after(s)) is not None]
        return {
            "streams": len(self.streams),
            "got": len(got),
            "latencies_ms": sorted(round((at - since) * 1000, 1) for at in got),
            "seconds": round(time.perf_counter() - t0, 2),
        }

    async def burst(self, cmd: dict) -> dict:
        """`n` connection attempts from one address, `concurrency` at a time: each sends its GET,
        reads the status line and hangs up (a stream it got is closed at once)."""
        u = urllib.parse.urlsplit(cmd["url"])
        statuses: collections.Counter[int] = collections.Counter()
        errors: collections.Counter[str] = collections.Counter()
        left = int(cmd["n"])
        t0 = time.perf_counter()

        async def one() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                try:
                    reader, writer = await asyncio.open_connection(u.hostname, u.port)
                    writer.write(
                        f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}\r\nConnection: close\r\n\r\n".encode()
                    )
                    line = await asyncio.wait_for(reader.readline(), 30)
                    statuses[int(line.split()[1]) if line else 0] += 1
                    writer.close()
                except (TimeoutError, OSError, ValueError, IndexError) as exc:
                    errors[type(exc).__name__] += 1

        await asyncio.gather(*(one() for _ in range(int(cmd.get("concurrency", 50)))))
        return {
            "statuses": dict(statuses),
            "errors": dict(errors),
            "seconds": round(time.perf_counter() - t0, 2),
        }

    def stats(self) -> dict:
        return {
            "held": sum(s.connected for s in self.streams),
            "connects": self.connects,
            "statuses": dict(self.statuses),
            "errors": dict(self.errors),
            "events": dict(self.event_counts),
        }

    async def close(self) -> dict:
        self.closing = True
        for s in self.streams:
            if s.task is not None:
                s.task.cancel()
        await asyncio.gather(*(s.task for s in self.streams if s.task), return_exceptions=True)
        return self.stats()


class CrowdProcess:
    """The crowd as a subprocess, driven from synchronous code (the bench, the fault test)."""

    def __init__(self) -> None:
        from pathlib import Path

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.liveclient"],
            cwd=Path(__file__).resolve().parents[1],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, **cmd) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the live client exited ({self.proc.poll()})")
        return json.loads(line)

    def pid(self) -> int:
        return self.proc.pid

    def close(self) -> dict | None:
        try:
            return self.ask(cmd="close") if self.proc.poll() is None else None
        except (OSError, RuntimeError, ValueError):
            return None
        finally:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def main() -> None:
    crowd = Crowd()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        cmd = json.loads(line)
        if cmd["cmd"] == "open":
            answer = await crowd.open(cmd)
        elif cmd["cmd"] == "burst":
            answer = await crowd.burst(cmd)
        elif cmd["cmd"] == "wait":
            answer = await crowd.wait(cmd)
        elif cmd["cmd"] == "stats":
            answer = crowd.stats()
        else:
            answer = await crowd.close()
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
        if cmd["cmd"] == "close":
            return


if __name__ == "__main__":
    asyncio.run(main())
