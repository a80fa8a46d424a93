"""The API phase: POST /api/orders/ through gunicorn as the Procfile runs it, bus on and bus off.

Two web servers from the Procfile's `web:` line (bench/server.py), both with bench.settings (the
five no-op handlers): one with the bus as it is, one with BENCH_BUS=off (bench/bus.py: the order
and its items are saved, no outbox row, no delivery, no message). An asyncio client in its own
process (bench/loadgen.py) keeps a fixed number of requests in flight for a fixed time, each
request a different seeded customer (token auth) with a fresh Idempotency-Key. Per round, in
this order: bus on, bus off, a minimal one-row DRF create (POST /bench/notes/, the floor of
DRF + the database on this machine), GET /healthz (the client's ceiling through the same stack).
No worker consumes meanwhile (messages queue up; the caller purges the queues after the phase).

Both servers run with the order throttles raised (per address and per account, 1,000,000/min)
and NUM_PROXIES=1 so each customer's X-Forwarded-For is its own address: the throttles still run
(their Redis round trips are paid) but never refuse, and no one key's history grows unboundedly.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.server import (  # no Django import at module level: __main__ reads add_arguments first
    ROOT,
    WebServer,
)
from bench.stats import percentile, spread

TARGETS = {"api_ratio": 0.7, "api_vs_minimal": 0.25}
THROTTLE = "1000000/min"
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "ALLOWED_HOSTS": "127.0.0.1",
    "NUM_PROXIES": "1",
    "THROTTLE_ORDER_PLACE_IP": THROTTLE,
    "ORDER_PLACE_THROTTLE": THROTTLE,
}
KINDS = ("bus_on", "bus_off", "bus_on_unbatched", "minimal_create", "healthz")


def add_arguments(p) -> None:
    g = p.add_argument_group("api phase (gunicorn as in the Procfile, an asyncio client in its own process)")
    g.add_argument(
        "--api-seconds", type=float, default=10.0, help="length of one measured round (default 10)"
    )
    g.add_argument(
        "--api-rounds",
        type=int,
        default=3,
        help="rounds; each is bus on, bus off, minimal create, /healthz (default 3)",
    )
    g.add_argument("--api-concurrency", type=int, default=8, help="requests in flight (default 8)")
    g.add_argument("--api-customers", type=int, default=1000, help="distinct seeded customers (default 1000)")
    g.add_argument(
        "--api-warmup", type=float, default=3.0, help="unmeasured seconds per server first (default 3)"
    )
    g.add_argument(
        "--api-keepalive",
        action="store_true",
        help="reuse connections (default: one per request, as a proxy without upstream keep-alive)",
    )
    g.add_argument(
        "--api-compare-unbatched",
        action="store_true",
        help="a third server, bus on with one broker round trip per message (BENCH_PUBLISH_BATCH=off), "
        "in every round after bus off: the before/after of pipelined publishing without apply_async",
    )
    g.add_argument(
        "--api-profile",
        type=Path,
        metavar="DIR",
        help="then one more round per bus mode with py-spy on the web workers; summary in DIR",
    )


# --- seed -----------------------------------------------------------------------------------
def seed_customers(n: int, *, prefix: str = "bench-api") -> list[str]:
    """n customers with a user and an API token each (bulk inserts); their token keys."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from orders.models import Customer

    User = get_user_model()
    with transaction.atomic():
        users = [User(username=f"{prefix}-{i}", email=f"{prefix}-{i}@example.com") for i in range(n)]
        for u in users:
            u.set_unusable_password()
        User.objects.bulk_create(users, batch_size=1000)
        Customer.objects.bulk_create(
            [
                Customer(
                    user=u, phone="+15005550006", email=u.email, default_address="12 Via Roma, Springfield"
                )
                for u in users
            ],
            batch_size=1000,
        )
        tokens = [Token(key=Token.generate_key(), user=u) for u in users]
        Token.objects.bulk_create(tokens, batch_size=1000)
    return [t.key for t in tokens]


def order_body(seed: dict) -> dict:
    """The order request of measure.queries_per_order: delivery, two items, toppings."""
    line = seed["items"][0]
    return {
        "items": [line, {**line, "toppings": [], "quantity": 1}],
        "fulfilment": "delivery",
        "delivery_address": "12 Via Roma, Springfield",
    }


# --- counting what the requests wrote -----------------------------------------------------------
def _queued_messages() -> int | None:
    from bench.handlers import QUEUES
    from pizzeria.celery import app

    with app.connection_for_write() as conn:
        if conn.transport.driver_type != "redis":
            return None
        client = conn.default_channel.client  # type: ignore[attr-defined]  # the Redis transport's channel
        return sum(client.llen(q) for q in QUEUES)


def counts() -> dict:
    from bench.models import BenchNote
    from eventbus.models import Delivery, OutboxEvent
    from orders.models import Order

    return {
        "orders": Order.objects.count(),
        "outbox_rows": OutboxEvent.objects.count(),
        "deliveries": Delivery.objects.count(),
        "messages": _queued_messages(),
        "notes": BenchNote.objects.count(),
    }


def _delta(after: dict, before: dict) -> dict:
    return {k: None if after[k] is None else after[k] - before[k] for k in after}


def check_writes(kind: str, created: int, delta: dict, per_order: int) -> None:
    """Bus on wrote one outbox row, per_order deliveries and messages per order; bus off none."""
    from bench.measure import BenchError

    on = {
        "orders": created,
        "outbox_rows": created,
        "deliveries": per_order * created,
        "messages": per_order * created,
    }
    want = {
        "bus_on": on,
        "bus_on_unbatched": on,
        "bus_off": {"orders": created, "outbox_rows": 0, "deliveries": 0, "messages": 0},
        "minimal_create": {"notes": created, "orders": 0, "outbox_rows": 0, "deliveries": 0, "messages": 0},
        "healthz": {"orders": 0, "outbox_rows": 0, "deliveries": 0, "messages": 0},
    }[kind]
    wrong = {k: (delta[k], v) for k, v in want.items() if delta[k] is not None and delta[k] != v}
    if wrong:
        raise BenchError(f"api {kind}: rows/messages written (got, expected): {wrong}")


# --- one round --------------------------------------------------------------------------------
def loadgen(spec: dict, work: Path) -> dict:
    from bench.measure import BenchError

    path = work / "spec.json"
    path.write_text(json.dumps(spec))
    out = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=spec["seconds"] + 120,
    )
    if out.returncode != 0:
        raise BenchError(f"load generator failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def _ms(values: list[float], p: float) -> float:
    return round(percentile(values, p) * 1000, 2)


def run_round(kind: str, server: WebServer, spec: dict, work: Path, *, per_order: int) -> dict:
    from bench.measure import BenchError

    before = counts()
    cpu0 = server.cpu_seconds()
    r = loadgen(spec, work)
    server_cpu = server.cpu_seconds() - cpu0
    delta = _delta(counts(), before)
    ok = sum(v for k, v in r["statuses"].items() if k.startswith("2"))
    failed = sum(v for k, v in r["statuses"].items() if not k.startswith("2")) + sum(r["errors"].values())
    if failed:
        raise BenchError(
            f"api {kind}: {failed} requests failed {r['statuses']} {r['errors']}: "
            f"{r['first_error_body']!r}\n{server.log_tail(10)}"
        )
    check_writes(kind, ok if kind != "healthz" else 0, delta, per_order)
    lat = sorted(r["latencies_s"])
    spec["start"] = r["next_index"]  # the next round goes on with customers not used yet
    return {
        "kind": kind,
        "requests": ok,
        "elapsed_s": round(r["elapsed_s"], 3),
        "rps": round(ok / r["elapsed_s"], 1),
        "p50_ms": _ms(lat, 50),
        "p90_ms": _ms(lat, 90),
        "p99_ms": _ms(lat, 99),
        "max_ms": round(lat[-1] * 1000, 2),
        "client_cpu_util": round(r["client_cpu_s"] / r["elapsed_s"], 3),
        "server_cpu_cores": round(server_cpu / r["elapsed_s"], 2),
        "server_cpu_ms_per_request": round(1000 * server_cpu / ok, 2),
        "written": delta,
    }


# --- the phase ----------------------------------------------------------------------------------
def phase(args, seed: dict, *, per_order: int) -> dict:
    tokens = seed_customers(args.api_customers)
    base = {"seconds": args.api_seconds, "concurrency": args.api_concurrency, "keepalive": args.api_keepalive}
    specs = {
        "bus_on": {
            **base,
            "path": "/api/orders/",
            "body": order_body(seed),
            "tokens": tokens,
            "idempotency": True,
        },
        "minimal_create": {**base, "path": "/bench/notes/", "body": {"text": "bench"}, "tokens": tokens},
        "healthz": {**base, "path": "/healthz", "method": "GET", "body": None, "tokens": []},
    }
    specs["bus_off"] = dict(specs["bus_on"])
    specs["bus_on_unbatched"] = dict(specs["bus_on"])
    kinds = [k for k in KINDS if k != "bus_on_unbatched" or args.api_compare_unbatched]
    modes = {"on": {"BENCH_BUS": "on"}, "off": {"BENCH_BUS": "off"}}
    if args.api_compare_unbatched:
        modes["on-unbatched"] = {"BENCH_BUS": "on", "BENCH_PUBLISH_BATCH": "off"}
    work = Path(tempfile.mkdtemp(prefix="pz-bench-api-"))
    with contextlib.ExitStack() as stack:
        servers = {}
        for mode, env in modes.items():
            server = WebServer(f"bus-{mode}", {**SERVER_ENV, **env}, work)
            stack.callback(server.stop)
            servers[mode] = server.start()
        server_of: dict[str, Any] = {
            "bus_on": servers["on"],
            "bus_off": servers["off"],
            "minimal_create": servers["on"],
            "healthz": servers["on"],
            "bus_on_unbatched": servers.get("on-unbatched"),
        }
        for i, kind in enumerate(("bus_on", "bus_off", "bus_on_unbatched", "minimal_create", "healthz")):
            specs[kind]["start"] = i * len(tokens) // 3 if i < 3 else 0  # each mode its own customers first
        print(f"bench: api warm-up, {args.api_warmup:g}s per server ...", flush=True)
        for kind in [k for k in kinds if k != "healthz"]:
            s = specs[kind]
            warm = {**s, "url": server_of[kind].base_url + s["path"], "seconds": args.api_warmup}
            s["start"] = loadgen(warm, work)["next_index"]
        rounds = []
        for n in range(args.api_rounds):
            for kind in kinds:
                s = specs[kind]
                s["url"] = server_of[kind].base_url + s["path"]
                r = run_round(kind, server_of[kind], s, work, per_order=per_order)
                r["round"] = n + 1
                rounds.append(r)
                print(
                    f"bench: api round {n + 1} {kind:<16} {r['rps']:>8.1f} req/s  p50 {r['p50_ms']:.1f} ms  "
                    f"p99 {r['p99_ms']:.1f} ms  client cpu {r['client_cpu_util']:.2f}  "
                    f"server cpu {r['server_cpu_cores']:.2f} cores, {r['server_cpu_ms_per_request']:.1f} ms/request",
                    flush=True,
                )
        command = servers["on"].cmd
        result = summarise(rounds, args, kinds, command=command, logs=str(work))
        if args.api_profile:
            from bench.apiprofile import profile_servers

            print(
                f"bench: api, one more round per bus mode under py-spy -> {args.api_profile} ...", flush=True
            )

            def run_kind(kind: str) -> dict:
                specs[kind]["url"] = server_of[kind].base_url + specs[kind]["path"]
                return run_round(kind, server_of[kind], specs[kind], work, per_order=per_order)

            result["profile"] = profile_servers(servers, run_kind, args.api_profile)
            (args.api_profile / "summary.json").write_text(json.dumps(result["profile"], indent=2) + "\n")
    return result


def summarise(rounds: list[dict], args, kinds: list[str], *, command: list[str], logs: str) -> dict:
    out: dict = {
        "settings": {
            "server": " ".join(command),
            "server_env": SERVER_ENV,
            "bus_off": "BENCH_BUS=off (bench/bus.py): post_save receiver replaced by one that drains events",
            "client": "aiohttp (asyncio) in its own process, closed loop",
            "concurrency": args.api_concurrency,
            "seconds_per_round": args.api_seconds,
            "rounds": args.api_rounds,
            "customers": args.api_customers,
            "keepalive": args.api_keepalive,
            "order_request": "POST /api/orders/: token auth, throttles, Idempotency-Key, delivery, two items",
            "minimal_create": "POST /bench/notes/ {text}: same token auth and middleware, no throttles",
            "throttles": f"order_place_ip and order_place_user raised to {THROTTLE} (still evaluated)",
            "logs": logs,
        },
        "rounds": rounds,
    }
    for kind in kinds:
        mine = [r for r in rounds if r["kind"] == kind]
        out[kind] = {
            key: spread([r[key] for r in mine])
            for key in (
                "rps",
                "p50_ms",
                "p99_ms",
                "client_cpu_util",
                "server_cpu_cores",
                "server_cpu_ms_per_request",
            )
        }
        out[kind]["written"] = {k: sum((r["written"][k] or 0) for r in mine) for k in mine[0]["written"]}
    on, off = out["bus_on"]["rps"]["median"], out["bus_off"]["rps"]["median"]
    pairs = [
        a["rps"] / b["rps"]
        for a, b in zip(
            [r for r in rounds if r["kind"] == "bus_on"],
            [r for r in rounds if r["kind"] == "bus_off"],
            strict=True,
        )
    ]
    out["ratio"] = {"of_medians": round(on / off, 3), "per_round": spread([round(x, 3) for x in pairs])}
    # The same question asked of the servers' CPU time per request (bus off / bus on): far less
    # sensitive than req/s to what else the machine runs meanwhile.
    cpu = {k: out[k]["server_cpu_ms_per_request"]["median"] for k in kinds}
    out["cpu_ratio"] = round(cpu["bus_off"] / cpu["bus_on"], 3)
    out["vs_minimal"] = round(on / out["minimal_create"]["rps"]["median"], 3)
    if "bus_on_unbatched" in out:
        out["ratio_unbatched"] = round(out["bus_on_unbatched"]["rps"]["median"] / off, 3)
        out["cpu_ratio_unbatched"] = round(cpu["bus_off"] / cpu["bus_on_unbatched"], 3)
    return out


def summary_keys(api: dict) -> tuple[dict, dict]:
    """(summary entries, targets met) for __main__.summary()."""
    s = {
        "api_rps_bus_on": api["bus_on"]["rps"]["median"],
        "api_rps_bus_off": api["bus_off"]["rps"]["median"],
        "api_ratio": api["ratio"]["of_medians"],
        "api_rps_minimal_create": api["minimal_create"]["rps"]["median"],
        "api_vs_minimal": api["vs_minimal"],
        "api_rps_healthz": api["healthz"]["rps"]["median"],
        "api_cpu_ratio": api["cpu_ratio"],
    }
    if "ratio_unbatched" in api:
        s["api_rps_bus_on_unbatched"] = api["bus_on_unbatched"]["rps"]["median"]
        s["api_ratio_unbatched"] = api["ratio_unbatched"]
        s["api_cpu_ratio_unbatched"] = api["cpu_ratio_unbatched"]
    met = {
        "api_ratio>=0.7": s["api_ratio"] >= TARGETS["api_ratio"],
        "api_vs_minimal>=0.25": s["api_vs_minimal"] >= TARGETS["api_vs_minimal"],
    }
    return s, met


def table_rows(r: dict, flag) -> list[tuple[str, str, str]]:
    a, s = r["api"], r["summary"]
    rows = []
    for kind, label in (
        ("bus_on", "POST /api/orders/ bus on"),
        ("bus_off", "POST /api/orders/ bus off"),
        ("bus_on_unbatched", "POST /api/orders/ bus on, unbatched publish"),
        ("minimal_create", "minimal DRF create"),
        ("healthz", "GET /healthz (client ceiling)"),
    ):
        if kind not in a:
            continue
        k = a[kind]
        rows.append(
            (
                f"{label} req/s (p50 / p99 ms; server CPU ms/req)",
                f"{k['rps']['median']:,.0f} ({k['p50_ms']['median']:.0f} / {k['p99_ms']['median']:.0f}; "
                f"{k['server_cpu_ms_per_request']['median']:.1f})",
                "",
            )
        )
    rows.append(("api ratio bus on / off (>= 0.7)", f"{s['api_ratio']:.2f}", flag("api_ratio>=0.7")))
    rows.append(("api CPU ratio: bus-off / bus-on CPU ms per request", f"{s['api_cpu_ratio']:.2f}", ""))
    if "api_ratio_unbatched" in s:
        rows.append(
            (
                "api ratio, unbatched publish / off (req/s; CPU)",
                f"{s['api_ratio_unbatched']:.2f}; {s['api_cpu_ratio_unbatched']:.2f}",
                "",
            )
        )
    rows.append(
        ("api orders / minimal create (>= 0.25)", f"{s['api_vs_minimal']:.2f}", flag("api_vs_minimal>=0.25"))
    )
    return rows
