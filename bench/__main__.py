"""Event-bus benchmark (`make bench`).

    python -m bench [--out PATH] [--orders N] [--noop-tasks N] [--concurrency C] ...

Against DATABASE_URL / REDIS_URL from the environment (an embedded Valkey when REDIS_URL is unset,
a temporary SQLite file when DATABASE_URL is unset). It creates its own database (`pz_bench_<pid>`
on the DATABASE_URL server), migrates it, seeds one menu line and one customer, starts its own
prefork worker (the same concurrency for the baseline and the pipeline), and measures:

  queries    SQL queries of one POST /api/orders/ (token auth, throttles, Idempotency-Key, a delivery
             order with two items), counted with CaptureQueriesContext around Django's test client
  baseline   bare no-op Celery tasks spread over the five handler queues: first publish → last done
  pipeline   orders through orders.services.order_place with 5 no-op handlers (one per handler
             queue): first commit → last delivery succeeded
  latency    a steady rate of orders: commit → that order's last delivery finished (p50/p95/p99)
  api        POST /api/orders/ through gunicorn as the Procfile runs it, bus on vs bus off (BENCH_BUS=off)
             alternated, next to a minimal one-row DRF create and /healthz (bench/api.py); no worker
  sweeper    10,000 stranded deliveries (pending, never enqueued) re-sent by sweep(); the worker is
             stopped first so the figure is the sweeper's own (the queues are purged afterwards)
  retention  100,000 succeeded deliveries past retention purged by deliveries_purge(): each call
             (one hourly task run) must end inside the task's soft time limit

then writes a JSON file (its path printed) and a table. The database is dropped and the worker
stopped at the end, on errors and on Ctrl-C too. The broker's queues are purged before and after;
the run refuses to start if another worker consumes from the same broker (--allow-other-workers).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"ratio": 0.5, "p50_ms": 15.0, "p99_ms": 50.0, "sweeper_per_s": 1000.0, "queries_per_order": 10,
           "sweeper_100k_s": 100.0}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, help="JSON file (default bench-results/bench-<time>.json)")
    p.add_argument("--orders", type=int, default=400, help="orders in the throughput pass (default 400)")
    p.add_argument("--noop-tasks", type=int, default=4000, help="baseline no-op tasks (default 4000)")
    p.add_argument("--concurrency", type=int, default=2, help="worker prefork processes (default 2)")
    p.add_argument("--rate", type=float, default=20.0, help="orders/s in the latency pass (default 20)")
    p.add_argument("--latency-seconds", type=float, default=15.0, help="length of the latency pass (default 15)")
    p.add_argument("--stranded", type=int, default=10_000,
                   help="stranded deliveries to sweep (default 10000; 100000 also reports sweeper_100k_s)")
    p.add_argument("--retained", type=int, default=100_000, help="old deliveries to purge (default 100000)")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured orders first (default 20)")
    p.add_argument("--skip", action="append", default=[], choices=["queries", "baseline", "pipeline", "latency", "api", "sweeper", "retention"],
                   help="skip a measurement (repeatable)")
    p.add_argument("--profile", type=Path, metavar="DIR",
                   help="after the measurements, sample the pool with py-spy during an extra pipeline pass "
                        "and write folded stacks + a summary to DIR")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--worker-loglevel", default="WARNING")
    p.add_argument("--keep-db", action="store_true", help="do not drop the bench database (debugging)")
    p.add_argument("--allow-other-workers", action="store_true",
                   help="run even if other workers answer on this broker (they would steal bench messages)")
    p.add_argument("--timeout", type=float, default=120.0, help="max wait for one pass to drain (s)")
    from bench.api import add_arguments as api_arguments

    api_arguments(p)
    return p.parse_args(argv)


def _sigterm_to_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    os.chdir(ROOT)
    from pizzeria.devservices import embedded_broker

    with embedded_broker():
        return run(args)


def run(args: argparse.Namespace) -> int:
    from bench.database import BenchDatabase

    source_url = os.environ.get("DATABASE_URL", "")
    db = BenchDatabase(source_url)
    worker = None
    try:
        os.environ["DATABASE_URL"] = db.create()
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        print(f"bench: database {db.kind} {db.name}, broker {_redacted(os.environ['REDIS_URL'])}", flush=True)
        import django

        django.setup()
        from django.core.management import call_command

        from bench import measure
        from bench.worker import bench_worker, broker_keys_purge, other_workers

        t0 = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        seed = measure.seed_minimal()
        print(f"bench: migrated and seeded in {time.perf_counter() - t0:.1f}s", flush=True)

        others = other_workers()
        if others and not args.allow_other_workers:
            print(f"bench: other workers consume from this broker: {others}; use another REDIS_URL "
                  "(e.g. redis://127.0.0.1:6379/11) or --allow-other-workers", file=sys.stderr)
            return 2
        broker_keys_purge()
        results: dict = {"started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        results["machine"] = machine_info(db.kind)
        results["settings"] = settings_info(args)

        worker = bench_worker(concurrency=args.concurrency, loglevel=args.worker_loglevel).start()
        print(f"bench: worker {worker.name} pid {worker.proc.pid} pool {worker.pool_pids()}", flush=True)
        per_order = measure.per_order(seed)  # also warms this process up
        from bench.handlers import QUEUES

        measure.baseline(min(200, args.noop_tasks), timeout=args.timeout)  # warm the pool
        api_orders = 0
        if "queries" not in args.skip:
            print("bench: queries per order placed through POST /api/orders/ ...", flush=True)
            results["order_request"] = measure.queries_per_order(seed)
            api_orders = results["order_request"]["orders"]
        for _ in range(args.warmup):
            measure.per_order(seed)
        measure._wait_deliveries(0, per_order * (args.warmup + 1 + api_orders), timeout=args.timeout)

        if "baseline" not in args.skip:
            print(f"bench: baseline, {args.noop_tasks} no-op tasks ...", flush=True)
            results["baseline"] = measure.baseline(args.noop_tasks, timeout=args.timeout)
        if "pipeline" not in args.skip:
            print(f"bench: pipeline, {args.orders} orders × {per_order} deliveries ...", flush=True)
            sessions = _db_sessions()
            results["pipeline"] = measure.pipeline(seed, args.orders, per_order=per_order, timeout=args.timeout)
            if sessions is not None:
                # Connections opened meanwhile (worker + bench): ~0 means CELERY_DB_REUSE_MAX works.
                results["pipeline"]["db_sessions_opened"] = _db_sessions() - sessions
        if "latency" not in args.skip:
            print(f"bench: latency, {args.rate:g} orders/s for {args.latency_seconds:g}s ...", flush=True)
            results["commit_to_done_ms"] = measure.latency(
                seed, rate=args.rate, seconds=args.latency_seconds, per_order=per_order, timeout=args.timeout
            )
        if args.profile:
            results["profile"] = profile_pass(args, worker, seed, per_order)

        worker.stop()
        results["worker_log"] = str(worker.log_path)
        broker_keys_purge()
        if "api" not in args.skip:  # no worker consumes meanwhile: messages queue up, purged after
            from bench import api

            print(f"bench: api, {args.api_rounds} rounds x (bus on, bus off, [unbatched,] minimal create, /healthz), "
                  f"{args.api_seconds:g}s each at {args.api_concurrency} in flight ...", flush=True)
            results["api"] = api.phase(args, seed, per_order=per_order)
            broker_keys_purge()
        if "sweeper" not in args.skip:
            print(f"bench: sweeper, {args.stranded} stranded deliveries (worker stopped) ...", flush=True)
            handlers = [f"bench.noop_{q}" for q in QUEUES]
            results["sweeper"] = measure.sweeper(args.stranded, handlers, timeout=args.timeout)
            results["sweeper"]["worker"] = "stopped"
            broker_keys_purge()
        if "retention" not in args.skip:
            from django.conf import settings as dj_settings

            print(f"bench: retention, purging {args.retained} old deliveries ...", flush=True)
            handlers = [f"bench.noop_{q}" for q in QUEUES]
            results["retention"] = measure.retention(
                args.retained, handlers, time_limit=dj_settings.CELERY_TASK_SOFT_TIME_LIMIT
            )

        results["summary"] = summary(results)
        results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        out = args.out or ROOT / "bench-results" / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print_table(results)
        print(f"bench: results written to {out}")
        missed = [k for k, ok in results["summary"]["targets_met"].items() if not ok]
        return 1 if (missed and args.strict) else 0
    except KeyboardInterrupt:
        print("\nbench: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        if worker is not None:
            with contextlib.suppress(Exception):
                if worker.alive():
                    worker.stop()
            with contextlib.suppress(Exception):
                from bench.worker import broker_keys_purge

                broker_keys_purge()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if args.keep_db:
            print(f"bench: kept database {db.name}")
        else:
            db.drop()


def profile_pass(args, worker, seed, per_order) -> dict:
    from bench import measure
    from bench.profiling import PySpy, summarise

    pids = [worker.proc.pid]
    print(f"bench: profiling worker {pids} and its pool with py-spy during an extra pipeline pass ...", flush=True)
    with PySpy(pids, args.profile) as spy:
        time.sleep(0.5)  # let py-spy attach
        run = measure.pipeline(seed, args.orders, per_order=per_order, timeout=args.timeout)
    result = summarise(spy.outputs())
    result["pipeline_under_profiler"] = run
    (args.profile / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _db_sessions() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as c:
        c.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return c.fetchone()[0]


def _redacted(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


def machine_info(db_kind: str) -> dict:
    import celery
    import django
    import kombu
    from django.db import connection

    from bench.tasks import redis_client

    with connection.cursor() as c:
        c.execute("SHOW server_version" if db_kind == "postgresql" else "SELECT sqlite_version()")
        db_version = c.fetchone()[0]
    info = redis_client().info("server")
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "celery": celery.__version__,
        "kombu": kombu.__version__,
        "database": f"{db_kind} {db_version}",
        "broker": f"{'valkey' if info.get('valkey_version') else 'redis'} "
                  f"{info.get('valkey_version') or info.get('redis_version')}",
    }


def settings_info(args) -> dict:
    from django.conf import settings

    from pizzeria.celery import app

    db = settings.DATABASES["default"]
    return {
        "worker": f"prefork -c {args.concurrency}, --without-mingle --without-gossip, all bus queues",
        "orders": args.orders,
        "noop_tasks": args.noop_tasks,
        "latency_rate": args.rate,
        "latency_seconds": args.latency_seconds,
        "stranded": args.stranded,
        "warmup_orders": args.warmup,
        "handlers": "5 no-op handlers for OrderPlaced (kitchen, inventory, notifications, analytics, integrations)",
        "CELERY_DB_REUSE_MAX": app.conf.get("CELERY_DB_REUSE_MAX"),
        "CONN_MAX_AGE": db.get("CONN_MAX_AGE"),
        "task_acks_late": app.conf.task_acks_late,
        "worker_prefetch_multiplier": app.conf.worker_prefetch_multiplier,
        "worker_send_task_events": app.conf.worker_send_task_events,
        "task_send_sent_event": app.conf.task_send_sent_event,
        "EVENTBUS_SWEEP_BATCH": settings.EVENTBUS_SWEEP_BATCH,
        "EVENTBUS_DISPATCH": getattr(settings, "EVENTBUS_DISPATCH", "per-delivery"),
        "DEBUG": settings.DEBUG,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL"),
    }


def summary(r: dict) -> dict:
    s: dict = {}
    if "order_request" in r:
        s["queries_per_order"] = r["order_request"]["max"]
    if "baseline" in r:
        s["baseline_noop_tasks_per_s"] = r["baseline"]["tasks_per_s"]
    if "pipeline" in r:
        s["pipeline_deliveries_per_s"] = r["pipeline"]["deliveries_per_s"]
        s["orders_per_s"] = r["pipeline"]["orders_per_s"]
    if "baseline" in r and "pipeline" in r:
        s["ratio"] = round(r["pipeline"]["deliveries_per_s"] / r["baseline"]["tasks_per_s"], 3)
    if "commit_to_done_ms" in r:
        s["commit_to_done_ms"] = {k: r["commit_to_done_ms"][k] for k in ("p50", "p95", "p99")}
    if "sweeper" in r:
        s["sweeper_redispatch_per_s"] = r["sweeper"]["redispatch_per_s"]
        if r["sweeper"]["stranded"] >= 100_000:  # measured at that scale only (--stranded 100000)
            s["sweeper_100k_s"] = round(r["sweeper"]["elapsed_s"] * 100_000 / r["sweeper"]["stranded"], 2)
    if "retention" in r:
        s["retention_longest_call_s"] = r["retention"]["longest_call_s"]
    met = {}
    if "queries_per_order" in s:
        met["queries_per_order<=10"] = s["queries_per_order"] <= TARGETS["queries_per_order"]
    if "ratio" in s:
        met["ratio>=0.5"] = s["ratio"] >= TARGETS["ratio"]
    if "commit_to_done_ms" in s:
        met["p50<=15ms"] = s["commit_to_done_ms"]["p50"] <= TARGETS["p50_ms"]
        met["p99<=50ms"] = s["commit_to_done_ms"]["p99"] <= TARGETS["p99_ms"]
    if "sweeper_100k_s" in s:
        met["sweeper_100k<=100s"] = s["sweeper_100k_s"] <= TARGETS["sweeper_100k_s"]
    if "sweeper_redispatch_per_s" in s:
        met["sweeper>=1000/s"] = s["sweeper_redispatch_per_s"] >= TARGETS["sweeper_per_s"]
    if "retention" in r:
        met["purge call < soft time limit"] = r["retention"]["within_time_limit"]
    if "api" in r:
        from bench.api import summary_keys

        api_summary, api_met = summary_keys(r["api"])
        s.update(api_summary)
        met.update(api_met)
    s["targets_met"] = met
    return s


def print_table(r: dict) -> None:
    s, m = r["summary"], r["machine"]
    met = s["targets_met"]

    def flag(key):
        return "" if key not in met else ("  ok" if met[key] else "  MISSED")

    rows = []
    if "queries_per_order" in s:
        rows.append(("SQL queries per POST /api/orders/ (<= 10)", f"{s['queries_per_order']}",
                     flag("queries_per_order<=10")))
    if "baseline_noop_tasks_per_s" in s:
        rows.append(("baseline no-op tasks/s", f"{s['baseline_noop_tasks_per_s']:,.0f}", ""))
    if "pipeline_deliveries_per_s" in s:
        rows.append(("pipeline deliveries/s", f"{s['pipeline_deliveries_per_s']:,.0f}", ""))
        rows.append(("orders/s", f"{s['orders_per_s']:,.1f}", ""))
    if "ratio" in s:
        rows.append(("ratio (target >= 0.5)", f"{s['ratio']:.2f}", flag("ratio>=0.5")))
    if "commit_to_done_ms" in s:
        c = s["commit_to_done_ms"]
        rows.append((f"commit->done p50 @ {r['commit_to_done_ms']['target_orders_per_s']:g}/s (<= 15)",
                     f"{c['p50']:.1f} ms", flag("p50<=15ms")))
        rows.append(("commit->done p95", f"{c['p95']:.1f} ms", ""))
        rows.append(("commit->done p99 (<= 50)", f"{c['p99']:.1f} ms", flag("p99<=50ms")))
    if "sweeper_redispatch_per_s" in s:
        rows.append(("sweeper re-sent/s (>= 1000)", f"{s['sweeper_redispatch_per_s']:,.0f}", flag("sweeper>=1000/s")))
    if "sweeper_100k_s" in s:
        rows.append(("sweeper: 100,000 stranded re-sent in s (<= 100)", f"{s['sweeper_100k_s']:,.1f}",
                     flag("sweeper_100k<=100s")))
    if "retention_longest_call_s" in s:
        rows.append((
            f"purge {r['retention']['rows']:,} old rows: longest call s (< soft limit)",
            f"{s['retention_longest_call_s']:.2f} ({r['retention']['calls']} calls)",
            flag("purge call < soft time limit"),
        ))
    if "api" in r:
        from bench.api import table_rows

        rows.extend(table_rows(r, flag))
    width = max(len(name) for name, _, _ in rows)
    print(f"\nEvent-bus benchmark — {m['cpu_count']} CPUs, Python {m['python']}, Django {m['django']}, "
          f"Celery {m['celery']}, {m['database']}, {m['broker']}, {r['settings']['worker']}")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>12}{note}")
    print()


if __name__ == "__main__":
    sys.exit(main())
