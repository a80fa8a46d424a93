"""The live phase: N open tracker streams against the order API, on the web process as the Procfile runs it.

Three servers from bench/server.py, all with bench.settings and the bus on: the Procfile's `web:`
line (gunicorn + uvicorn workers serving pizzeria.asgi) twice is not needed — one ASGI server
carries both the with- and without-viewers rounds — plus gunicorn's gthread worker as the Procfile
ran it before issue 21 (GTHREAD_LINE), the figure the ASGI server must not fall behind.

Per round, in this order (alternated over --live-rounds):
  asgi            POST /api/orders/ for --api-seconds at --api-concurrency in flight, no viewers
  asgi_viewers    the same while --live-streams tracker streams are held open by an asyncio client
                  in its own process (bench/liveclient.py; each stream its own X-Forwarded-For,
                  the server runs with NUM_PROXIES=1, so the per-address cap is not what is met)
  gthread         the same request on the old gthread server, no viewers
With the viewers still open after their round: the web RSS (master + workers) against the RSS
just before they connected, and the fan-out — a note published on the order's channel, the time
until 95 % of the streams received it (--live-fanout-samples notes, half a second apart).
Last, the cap under abuse: 10,000 connection attempts from one address (no X-Forwarded-For),
while /healthz and POST /api/orders/ are asked one after another and timed.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from bench.api import SERVER_ENV, loadgen, order_body, run_round, seed_customers
from bench.server import WebServer, procfile_web_command
from bench.stats import percentile, spread

GTHREAD_LINE = (
    "gunicorn pizzeria.wsgi --bind {host}:{port} --worker-class gthread --workers 2 --threads 32 "
    "--timeout 60 --graceful-timeout 10 --access-logfile - --no-control-socket"
)
TARGETS = {
    "live_streams": 2000,
    "live_api_ratio": 0.9,
    "live_api_p99_ratio": 1.5,
    "live_fanout_p95_ms": 1000.0,
    "live_rss_kb_per_stream": 100.0,
    "live_vs_gthread_rps": 1.0,
    "live_abuse_max_ms": 1000.0,
}


def add_arguments(p) -> None:
    g = p.add_argument_group("live phase (open tracker streams while the order API runs)")
    g.add_argument("--live-streams", type=int, default=2000, help="streams held open (default 2000)")
    g.add_argument(
        "--live-rounds", type=int, default=3, help="rounds of asgi / asgi+viewers / gthread (default 3)"
    )
    g.add_argument("--live-fanout-samples", type=int, default=5, help="notes timed per round (default 5)")
    g.add_argument(
        "--live-abuse-attempts",
        type=int,
        default=10_000,
        help="connection attempts from one address at the end (default 10000; 0: skip)",
    )


def web_rss_kb(server: WebServer) -> int:
    import psutil

    total = 0
    for pid in server.pids():
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return total // 1024


def fanout(crowd, channel: str, samples: int) -> list[dict]:
    from pizzeria import live

    out = []
    for n in range(samples):
        time.sleep(0.5)
        since = time.time()
        live.publish(channel, json.dumps({"bench": n, "at": since}))
        heard = crowd.ask(cmd="wait", since=since, timeout=10)
        lat = heard["latencies_ms"]
        need = max(1, int(0.95 * heard["streams"] + 0.999))
        out.append(
            {
                "streams": heard["streams"],
                "got": heard["got"],
                "p95_ms": lat[need - 1] if len(lat) >= need else None,
                "p50_ms": round(percentile(lat, 50), 1) if lat else None,
                "max_ms": lat[-1] if lat else None,
            }
        )
    return out


class Prober(threading.Thread):
    """/healthz and one order at a time, timed, until stopped (the abuse step's witness)."""

    def __init__(self, base_url: str, token: str, body: dict) -> None:
        super().__init__(daemon=True)
        self.base_url, self.token, self.body = base_url, token, body
        self.stop = threading.Event()
        self.times: dict[str, list[float]] = {"healthz": [], "order": []}
        self.failures: list[str] = []

    def _timed(self, kind: str, request: urllib.request.Request) -> None:
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                r.read()
        except (urllib.error.URLError, OSError) as exc:
            self.failures.append(f"{kind}: {exc}")
            return
        self.times[kind].append((time.perf_counter() - t0) * 1000)

    def run(self) -> None:
        while not self.stop.is_set():
            self._timed("healthz", urllib.request.Request(f"{self.base_url}/healthz"))
            self._timed(
                "order",
                urllib.request.Request(
                    f"{self.base_url}/api/orders/",
                    data=json.dumps(self.body).encode(),
                    method="POST",
                    headers={
                        "Authorization": f"Token {self.token}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": uuid.uuid4().hex,
                        "X-Forwarded-For": "192.0.2.77",
                    },
                ),
            )
            time.sleep(0.05)


def phase(args, seed: dict, *, per_order: int) -> dict:
    from bench.liveclient import CrowdProcess
    from orders.services import order_place
    from orders.tracker.live import order_channel
    from orders.tracker.tokens import tracker_path

    tokens = seed_customers(args.api_customers, prefix="bench-live")
    viewed = order_place(customer=seed["customer"], items=seed["items"], fulfilment="delivery")
    stream_path = f"{tracker_path(order_id=viewed.pk)}events/"
    work = Path(tempfile.mkdtemp(prefix="pz-bench-live-"))
    base = {
        "seconds": args.api_seconds,
        "concurrency": args.api_concurrency,
        "keepalive": args.api_keepalive,
        "path": "/api/orders/",
        "body": order_body(seed),
        "tokens": tokens,
        "idempotency": True,
    }
    env = {**SERVER_ENV, "BENCH_BUS": "on"}
    rounds: list[dict] = []
    extra: dict = {"fanout": [], "rss": []}
    with contextlib.ExitStack() as stack:
        asgi = WebServer("live-asgi", env, work)
        gthread = WebServer("live-gthread", env, work)
        gunicorn = procfile_web_command(host=gthread.host, port=gthread.port)[0]  # the venv's
        gthread.cmd = [gunicorn, *GTHREAD_LINE.format(host=gthread.host, port=gthread.port).split()[1:]]
        for s in (asgi, gthread):
            stack.callback(s.stop)
            s.start()
        specs = {
            "asgi": {**base, "start": 0},
            "asgi_viewers": {**base, "start": len(tokens) // 3},
            "gthread": {**base, "start": 2 * len(tokens) // 3},
        }
        server_of = {"asgi": asgi, "asgi_viewers": asgi, "gthread": gthread}
        print(f"bench: live warm-up, {args.api_warmup:g}s per server ...", flush=True)
        for kind in ("asgi", "gthread"):
            spec = specs[kind]
            spec["start"] = loadgen(
                {**spec, "url": server_of[kind].base_url + spec["path"], "seconds": args.api_warmup}, work
            )["next_index"]
        for n in range(args.live_rounds):
            for kind in ("asgi", "asgi_viewers", "gthread"):
                server, spec = server_of[kind], specs[kind]
                spec["url"] = server.base_url + spec["path"]
                crowd = None
                try:
                    if kind == "asgi_viewers":
                        rss_before = web_rss_kb(server)
                        crowd = CrowdProcess()
                        opened = crowd.ask(
                            cmd="open",
                            url=server.base_url + stream_path,
                            n=args.live_streams,
                            xff=True,
                            deadline=120,
                        )
                        print(
                            f"bench: live round {n + 1}: {opened['hello']} of {args.live_streams} streams open "
                            f"in {opened['seconds']}s {opened['statuses']} {opened['errors'] or ''}",
                            flush=True,
                        )
                    r = run_round("bus_on", server, spec, work, per_order=per_order)
                    r["kind"], r["round"] = kind, n + 1
                    if crowd is not None:
                        during = crowd.ask(cmd="stats")
                        r["streams_held"] = during["held"]
                        r["streams_opened"] = opened
                        rss_with = web_rss_kb(server)
                        extra["rss"].append(
                            {
                                "round": n + 1,
                                "before_kb": rss_before,
                                "with_kb": rss_with,
                                "streams": during["held"],
                                "kb_per_stream": round((rss_with - rss_before) / max(1, during["held"]), 1),
                            }
                        )
                        samples = fanout(crowd, order_channel(order_id=viewed.pk), args.live_fanout_samples)
                        extra["fanout"].append({"round": n + 1, "samples": samples})
                    rounds.append(r)
                    print(
                        f"bench: live round {n + 1} {kind:<13} {r['rps']:>8.1f} req/s  p50 {r['p50_ms']:.1f} ms  "
                        f"p99 {r['p99_ms']:.1f} ms  server cpu {r['server_cpu_cores']:.2f} cores"
                        + (f"  streams held {r['streams_held']}" if crowd else ""),
                        flush=True,
                    )
                finally:
                    if crowd is not None:
                        crowd.close()
                        time.sleep(1.0)  # the server lets the streams go
        if args.live_abuse_attempts > 0:
            extra["abuse"] = abuse(asgi, stream_path, tokens[0], order_body(seed), args.live_abuse_attempts)
        extra["servers"] = {"asgi": " ".join(asgi.cmd), "gthread": " ".join(gthread.cmd), "logs": str(work)}
    return summarise(rounds, extra, args)


def abuse(server: WebServer, stream_path: str, token: str, body: dict, attempts: int) -> dict:
    from bench.liveclient import CrowdProcess

    print(
        f"bench: live abuse, {attempts:,} stream attempts from one address while /healthz and orders are timed ...",
        flush=True,
    )
    # The same probes for 10 s without the burst first: what this machine answers anyway.
    quiet = Prober(server.base_url, token, body)
    quiet.start()
    time.sleep(10)
    quiet.stop.set()
    quiet.join(timeout=15)
    prober = Prober(server.base_url, token, body)
    crowd = CrowdProcess()
    try:
        prober.start()
        burst = crowd.ask(cmd="burst", url=server.base_url + stream_path, n=attempts, concurrency=50)
    finally:
        prober.stop.set()
        prober.join(timeout=15)
        crowd.close()
    result = {"attempts": attempts, "burst": burst, "failures": prober.failures[:5]}
    for label, p in (("", prober), ("quiet_", quiet)):
        for kind, times in p.times.items():
            result[f"{label}{kind}_max_ms"] = round(max(times), 1) if times else None
            result[f"{label}{kind}_p50_ms"] = round(statistics.median(times), 1) if times else None
            result[f"{label}{kind}_n"] = len(times)
    print(
        f"bench: live abuse: {burst['statuses']} in {burst['seconds']}s; /healthz max {result['healthz_max_ms']} ms "
        f"(without the burst {result['quiet_healthz_max_ms']}), order max {result['order_max_ms']} ms (without "
        f"{result['quiet_order_max_ms']}), p50 {result['order_p50_ms']} ({result['quiet_order_p50_ms']})",
        flush=True,
    )
    return result


def summarise(rounds: list[dict], extra: dict, args) -> dict:
    out: dict = {
        "settings": {
            "streams": args.live_streams,
            "rounds": args.live_rounds,
            "api_seconds": args.api_seconds,
            "api_concurrency": args.api_concurrency,
            "viewers": "tracker streams of one order, each its own X-Forwarded-For; idle "
            "(heartbeats) during the API round",
            **extra.pop("servers", {}),
        },
        "rounds": rounds,
        **extra,
    }
    for kind in ("asgi", "asgi_viewers", "gthread"):
        mine = [r for r in rounds if r["kind"] == kind]
        out[kind] = {
            k: spread([r[k] for r in mine])
            for k in ("rps", "p50_ms", "p99_ms", "server_cpu_cores", "server_cpu_ms_per_request")
        }
    med = {
        k: {m: out[k][m]["median"] for m in ("rps", "p99_ms")} for k in ("asgi", "asgi_viewers", "gthread")
    }
    held = [r["streams_held"] for r in rounds if r["kind"] == "asgi_viewers"]
    p95s = [s["p95_ms"] for f in extra["fanout"] for s in f["samples"]]
    out["figures"] = {
        "live_streams": min(held) if held else 0,
        "live_api_ratio": round(med["asgi_viewers"]["rps"] / med["asgi"]["rps"], 3),
        "live_api_p99_ratio": round(med["asgi_viewers"]["p99_ms"] / med["asgi"]["p99_ms"], 3),
        "live_fanout_p95_ms": (round(statistics.median(p95s), 1) if p95s and None not in p95s else None),
        # The largest round: the first, when the process had never held streams (later rounds reuse
        # the memory the first one grew, and read far less).
        "live_rss_kb_per_stream": max((r["kb_per_stream"] for r in extra["rss"]), default=None),
        "live_vs_gthread_rps": round(med["asgi"]["rps"] / med["gthread"]["rps"], 3),
        "live_vs_gthread_p99": round(med["asgi"]["p99_ms"] / med["gthread"]["p99_ms"], 3),
    }
    a = out.get("abuse")
    if a:
        times = [t for t in (a["healthz_max_ms"], a["order_max_ms"]) if t is not None]
        out["figures"]["live_abuse_max_ms"] = max(times) if times else None
    return out


def summary_keys(live) -> tuple[dict, dict]:
    if not isinstance(live, dict):
        return {}, {}
    f = dict(live["figures"])
    t = TARGETS
    met = {
        f"live_streams>={t['live_streams']}": f["live_streams"] >= t["live_streams"],
        "live_api_ratio>=0.9": f["live_api_ratio"] >= t["live_api_ratio"],
        "live_api_p99_ratio<=1.5": f["live_api_p99_ratio"] <= t["live_api_p99_ratio"],
        "live_fanout_p95<=1000ms": None
        if f["live_fanout_p95_ms"] is None
        else f["live_fanout_p95_ms"] <= 1000,
        "live_rss_kb_per_stream<=100": (
            None
            if f["live_rss_kb_per_stream"] is None
            else f["live_rss_kb_per_stream"] <= t["live_rss_kb_per_stream"]
        ),
        "live_vs_gthread_rps>=1.0": f["live_vs_gthread_rps"] >= t["live_vs_gthread_rps"],
    }
    if f.get("live_abuse_max_ms") is not None:
        met["live_abuse: /healthz and order <= 1s"] = f["live_abuse_max_ms"] <= t["live_abuse_max_ms"]
    return f, met


def table_rows(r: dict, flag) -> list[tuple[str, str, str]]:
    live, s = r["live"], r["summary"]
    rows = []
    labels = {
        "asgi": "ASGI (Procfile), no viewers",
        "asgi_viewers": f"ASGI, {s['live_streams']:,} streams held",
        "gthread": "gthread (before issue 21), no viewers",
    }
    for kind, label in labels.items():
        k = live[kind]
        rows.append(
            (
                f"live: POST /api/orders/ {label} req/s (p50 / p99 ms)",
                f"{k['rps']['median']:,.0f} ({k['p50_ms']['median']:.0f} / {k['p99_ms']['median']:.0f})",
                "",
            )
        )
    rows.append(
        (
            f"live streams held (>= {TARGETS['live_streams']:,})",
            f"{s['live_streams']:,}",
            flag(f"live_streams>={TARGETS['live_streams']}"),
        )
    )
    rows.append(
        (
            "live api req/s with / without viewers (>= 0.9)",
            f"{s['live_api_ratio']:.2f}",
            flag("live_api_ratio>=0.9"),
        )
    )
    rows.append(
        (
            "live api p99 with / without viewers (<= 1.5)",
            f"{s['live_api_p99_ratio']:.2f}",
            flag("live_api_p99_ratio<=1.5"),
        )
    )
    rows.append(
        (
            "live fan-out: note → 95 % of viewers, ms (<= 1000)",
            f"{s['live_fanout_p95_ms']}",
            flag("live_fanout_p95<=1000ms"),
        )
    )
    rows.append(
        (
            "live web RSS per stream, KB (<= 100)",
            f"{s['live_rss_kb_per_stream']}",
            flag("live_rss_kb_per_stream<=100"),
        )
    )
    rows.append(
        (
            "live ASGI / gthread order req/s (>= 1.0); p99",
            f"{s['live_vs_gthread_rps']:.2f}; {s['live_vs_gthread_p99']:.2f}",
            flag("live_vs_gthread_rps>=1.0"),
        )
    )
    if s.get("live_abuse_max_ms") is not None:
        a = live["abuse"]
        label = f"live {a['attempts']:,} attempts from one address {a['burst']['statuses']}: slowest /healthz or order"
        rows.append(
            (
                f"{label}, ms (<= 1000)",
                f"{s['live_abuse_max_ms']}",
                flag("live_abuse: /healthz and order <= 1s"),
            )
        )
        rows.append(
            (
                "live   the same probes without the attempts: slowest /healthz; order, ms",
                f"{a['quiet_healthz_max_ms']}; {a['quiet_order_max_ms']}",
                "",
            )
        )
    return rows
