"""The API phase's load generator: an asyncio HTTP client (aiohttp), run as its own process.

    python -m bench.loadgen SPEC.json   → one JSON line on stdout

SPEC: {"url", "method", "seconds", "concurrency", "keepalive", "body" (JSON or null),
       "tokens" (one per customer, or []), "start" (first customer index), "idempotency" (bool)}

`concurrency` requests are in flight at all times for `seconds` (a closed loop: each of
`concurrency` tasks sends its next request when its last one answered); requests still in flight
at the end complete and count. Request i is customer (start + i) mod len(tokens): its token, and
its own client address in X-Forwarded-For (the server runs with NUM_PROXIES=1, so the per-address
throttle counts per customer as it would in production), and, if asked, a fresh Idempotency-Key.
The result carries the client's own CPU time: near 1 CPU-second per second, the client is the limit.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
import uuid


def client_address(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


async def run(spec: dict) -> dict:
    import aiohttp

    url, method = spec["url"], spec.get("method", "POST")
    body = None if spec.get("body") is None else json.dumps(spec["body"]).encode()
    tokens = spec.get("tokens") or []
    seconds, concurrency = float(spec["seconds"]), int(spec["concurrency"])
    next_index = spec.get("start", 0)
    latencies: list[float] = []
    statuses: collections.Counter[int] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    first_error_body = ""

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=not spec.get("keepalive", False))
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds

        async def one_client() -> None:
            nonlocal next_index, first_error_body
            while loop.time() < deadline:
                i, next_index = next_index, next_index + 1
                headers = {"Content-Type": "application/json"}
                if tokens:
                    c = i % len(tokens)
                    headers["Authorization"] = f"Token {tokens[c]}"
                    headers["X-Forwarded-For"] = client_address(c)
                if spec.get("idempotency"):
                    headers["Idempotency-Key"] = uuid.uuid4().hex
                t0 = time.perf_counter()
                try:
                    async with session.request(method, url, data=body, headers=headers) as resp:
                        payload = await resp.read()
                        status = resp.status
                except (TimeoutError, aiohttp.ClientError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[status] += 1
                if status >= 300 and not first_error_body:
                    first_error_body = payload[:300].decode(errors="replace")

        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {
        "elapsed_s": elapsed,
        "client_cpu_s": cpu,
        "latencies_s": latencies,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": dict(errors),
        "first_error_body": first_error_body,
        "next_index": next_index,
    }


def main(argv: list[str]) -> int:
    with open(argv[0]) as f:
        spec = json.load(f)
    result = asyncio.run(run(spec))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
