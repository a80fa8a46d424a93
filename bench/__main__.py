"""Event-bus benchmark (`make bench`).

    python -m bench [--out PATH] [--orders N] [--noop-tasks N] [--concurrency C] [--rounds R]
                    [--memory-deliveries N] [--brokers redis,rabbitmq] ...

Against DATABASE_URL / REDIS_URL (and CELERY_BROKER_URL) from the environment (embedded ones,
started by `make bench` through pizzeria.devservices, when unset). It creates its own
database (`pz_bench_<pid>` on the DATABASE_URL server), migrates it, seeds one menu line and one
customer, starts its own prefork worker with the shipped Celery settings (it asks the worker what
it runs with and reports it: pool, concurrency, prefetch, task events), and measures:

  queries     SQL queries of one POST /api/orders/ (token auth, throttles, Idempotency-Key, a delivery
              order with two items), counted with CaptureQueriesContext around Django's test client
  throughput  --rounds rounds, each (in a rotating order) of:
    bare        no-op tasks of a plain Celery() app outside Django with Celery's defaults
                (bench/bare.py), its own worker: same broker, pool and process count
    baseline    in-project no-op Celery tasks spread over the five handler queues
    pipeline    orders through orders.services.order_place with 5 no-op handlers (one per handler
                queue): the worker resumes → last delivery succeeded
                (these three are drain rates: queued while the worker consumed nothing; phases.py)
    pipeline_live  the same orders placed while the worker consumes: first commit → last done
  latency     a steady rate of orders: commit → that order's last delivery finished (p50/p95/p99
              over every order of --rounds passes, and each pass's spread), with the Procfile's
              worker pools as make run starts them (bench/pools.py), then again with the bench's
              one worker on every queue (commit_to_done_ms_one_worker)
  memory      the worker pool's RSS (main + children) after 10,000 and after --memory-deliveries
              deliveries (bulk rows published with publish_deliveries, deleted as they succeed)
  tracing     OpenTelemetry off vs on in the same run (bench/tracing.py): the order API's req/s through
              gunicorn, and commit → done p50/p99 with a worker tracing off and one tracing on,
              exporting to a local OTLP receiver
  api         POST /api/orders/ through gunicorn as the Procfile runs it, bus on vs bus off
              (BENCH_BUS=off) alternated, next to a minimal one-row DRF create and /healthz
              (bench/api.py); no worker consumes meanwhile
  live        N tracker streams held open by an asyncio client in its own process while POST /api/orders/
              runs on the Procfile's ASGI web process, alternated with no viewers and with the gthread
              server it replaced; fan-out latency, web RSS per stream, 10,000 attempts from one address
              (bench/live.py)
  sweeper     100,000 stranded deliveries (pending, never enqueued) re-sent by sweep(); the worker is
              stopped first so the figure is the sweeper's own (the queues are purged afterwards)
  retention   100,000 succeeded deliveries past retention purged by deliveries_purge(): each call
              (one hourly task run) must end inside the task's soft time limit

With --brokers redis,rabbitmq the worker-side phases (throughput, latency, memory) run again on the
other broker in a child run (bench/brokers.py; RabbitMQ in a vhost created and deleted for it);
results["brokers"][name] holds each broker's figures, the summary's top-level keys the first's.
It writes a JSON file and an SVG chart next to it (paths printed) and a table; the load average is
recorded before and after, with a warning when the machine was busy. The database is dropped and
the workers stopped at the end, on errors and on Ctrl-C too. The broker's queues are purged before
and after; the run refuses to start if another worker consumes from the same broker
(--allow-other-workers).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPS = [
    "queries",
    "bare",
    "baseline",
    "pipeline",
    "pipeline_live",
    "latency",
    "memory",
    "sweeper",
    "retention",
    "api",
    "tracing",
    "live",
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, help="JSON file (default bench-results/bench-<time>.json)")
    p.add_argument("--orders", type=int, default=400, help="orders in the throughput pass (default 400)")
    p.add_argument("--noop-tasks", type=int, default=4000, help="baseline no-op tasks (default 4000)")
    p.add_argument("--concurrency", type=int, default=2, help="worker prefork processes (default 2)")
    p.add_argument("--rate", type=float, default=20.0, help="orders/s in the latency pass (default 20)")
    p.add_argument(
        "--latency-seconds", type=float, default=15.0, help="length of the latency pass (default 15)"
    )
    p.add_argument(
        "--stranded",
        type=int,
        default=100_000,
        help="stranded deliveries to sweep (default 100000; from 100000 on it reports sweeper_100k_s)",
    )
    p.add_argument("--retained", type=int, default=100_000, help="old deliveries to purge (default 100000)")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured orders first (default 20)")
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of throughput (bare, baseline, pipeline alternated) and of latency (default 3)",
    )
    p.add_argument(
        "--memory-deliveries",
        type=int,
        default=100_000,
        help="deliveries in the memory phase (default 100000: RSS after 10,000 vs after N)",
    )
    p.add_argument(
        "--brokers",
        default="",
        help="comma-separated: redis,rabbitmq (default: CELERY_BROKER_URL's, i.e. redis); the "
        "worker-side phases run on each, the first in this process",
    )
    p.add_argument(
        "--rabbitmq-url",
        default=os.environ.get("BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672"),
        help="RabbitMQ for --brokers rabbitmq; a vhost is created on it with rabbitmqctl and deleted after",
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE[,KEY=VALUE]",
        help="also run the pipeline with a worker started with these environment overrides, "
        "alternated with the shipped worker over --rounds (repeatable; bench/variants.py)",
    )
    p.add_argument("--no-chart", action="store_true", help="do not write the SVG chart")
    p.add_argument(
        "--skip", action="append", default=[], choices=SKIPS, help="skip a measurement (repeatable)"
    )
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="after the measurements, sample the pool with py-spy during an extra pipeline pass "
        "and write folded stacks + a summary to DIR",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--worker-loglevel", default="WARNING")
    p.add_argument("--keep-db", action="store_true", help="do not drop the bench database (debugging)")
    p.add_argument(
        "--allow-other-workers",
        action="store_true",
        help="run even if other workers answer on this broker (they would steal bench messages)",
    )
    p.add_argument("--timeout", type=float, default=120.0, help="max wait for one pass to drain (s)")
    from bench.api import add_arguments as api_arguments

    api_arguments(p)
    from bench.live import add_arguments as live_arguments

    live_arguments(p)
    from bench.tracing import add_arguments as tracing_arguments

    tracing_arguments(p)
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
    from bench.brokers import broker_name, parse_brokers
    from bench.database import BenchDatabase
    from bench.machine import machine_info, redacted, settings_info
    from bench.stats import busy_warning, cpu_count, loadavg

    source_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL") or os.environ["REDIS_URL"]
    first = broker_name(broker_url)
    brokers = parse_brokers(args.brokers or first)
    if brokers[0] != first:
        brokers = [first, *[b for b in brokers if b != first]]  # the first runs here, on CELERY_BROKER_URL's
    db = BenchDatabase(source_url)
    worker = bare_worker = None
    load_start = loadavg()
    try:
        os.environ["DATABASE_URL"] = db.create()
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        print(
            f"bench: database {db.kind} {db.name}, broker {redacted(broker_url)}, load average {load_start}",
            flush=True,
        )
        import django

        django.setup()
        from django.core.management import call_command

        from bench import measure, phases
        from bench.worker import bench_worker, broker_keys_purge, other_workers
        from pizzeria.celery import app

        t0 = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        seed = measure.seed_minimal()
        print(f"bench: migrated and seeded in {time.perf_counter() - t0:.1f}s", flush=True)

        others = other_workers()
        if others and not args.allow_other_workers:
            print(
                f"bench: other workers consume from this broker: {others}; use another REDIS_URL "
                "(e.g. redis://127.0.0.1:6379/11) or --allow-other-workers",
                file=sys.stderr,
            )
            return 2
        broker_keys_purge()
        results: dict = {"started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        results["machine"] = machine_info(db.kind)
        results["machine"]["loadavg_at_start"] = load_start
        results["settings"] = settings_info(args)
        results["broker"] = first
        results["celery_broker_url"] = redacted(broker_url)
        results["warnings"] = [w for w in [busy_warning(load_start, cpu_count(), when="at start")] if w]
        for w in results["warnings"]:
            print(f"bench: WARNING {w}", flush=True)

        worker = bench_worker(concurrency=args.concurrency, loglevel=args.worker_loglevel).start()
        print(f"bench: worker {worker.name} pid {worker.pid} pool {worker.pool_pids()}", flush=True)
        results["worker_settings"] = phases.worker_settings(app, worker.name)
        print(f"bench: worker runs {results['worker_settings']}", flush=True)
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

        if "api" not in args.skip:
            # First, on a fresh database. Run after the memory phase (100,000 deliveries inserted and
            # deleted), bus-on requests cost the web workers 24.2 ms of CPU instead of ~21.5 and the
            # ratio read 0.61 where a run on a fresh database read 0.76 (bus-off requests, which
            # write no delivery, did not move). The worker is paused: messages queue up, purged after.
            from bench import api
            from bench.worker import Paused

            print(
                f"bench: api, {args.api_rounds} rounds x (bus on, bus off, [unbatched,] minimal create, /healthz), "
                f"{args.api_seconds:g}s each at {args.api_concurrency} in flight ...",
                flush=True,
            )
            with Paused(app, worker.name, QUEUES):
                results["api"] = api.phase(args, seed, per_order=per_order)
                broker_keys_purge()
                results["api"]["unsent_deliveries_dropped"] = measure.unsent_deliveries_drop()
        if "tracing" not in args.skip:
            from bench import tracing
            from bench.worker import Paused

            print(
                f"bench: tracing off vs on, {args.api_rounds} api rounds and {args.rounds} latency rounds each ...",
                flush=True,
            )
            with Paused(app, worker.name, QUEUES):  # its own servers and workers; the bench worker waits
                results["tracing"] = tracing.phase(args, seed, per_order=per_order)
        if "live" not in args.skip:
            # Open tracker streams (an asyncio client in its own process) while the order API runs,
            # on the Procfile's ASGI web process, next to the gthread server it replaced (bench/live.py).
            from bench import live
            from bench.worker import Paused

            print(
                f"bench: live, {args.live_rounds} rounds x (asgi, asgi + {args.live_streams} streams, gthread), "
                f"{args.api_seconds:g}s each at {args.api_concurrency} in flight ...",
                flush=True,
            )
            with Paused(app, worker.name, QUEUES):
                results["live"] = live.phase(args, seed, per_order=per_order)
                broker_keys_purge()
                results["live"]["unsent_deliveries_dropped"] = measure.unsent_deliveries_drop()
        kinds = tuple(k for k in phases.KINDS if k not in args.skip)
        if "bare" in kinds:
            bare_worker = start_bare_worker(args, broker_url)
        if kinds and args.rounds > 0:
            print(
                f"bench: throughput, {args.rounds} rounds of {', '.join(kinds)} ({args.noop_tasks} no-op tasks, "
                f"{args.orders} orders × {per_order} deliveries) ...",
                flush=True,
            )
            sessions = _db_sessions()
            results["throughput"] = phases.throughput_rounds(
                rounds=args.rounds,
                seed=seed,
                per_order=per_order,
                orders=args.orders,
                noop_tasks=args.noop_tasks,
                timeout=args.timeout,
                kinds=kinds,
                nodes={"bench": worker.name, "bare": bare_worker.name if bare_worker else None},
            )
            if sessions is not None and "pipeline" in kinds:
                # Connections opened meanwhile (workers + bench): ~0 means CELERY_DB_REUSE_MAX works.
                results["throughput"]["db_sessions_opened"] = _db_sessions() - sessions  # type: ignore[operator]  # PostgreSQL: an int both times
        if bare_worker is not None:
            bare_worker.stop()
            bare_worker = None
        if "latency" not in args.skip and args.rounds > 0:
            from bench.pools import ProcfilePools
            from bench.worker import Paused

            print(
                f"bench: latency with the Procfile's pools (as make run ships), {args.rounds} × {args.rate:g} "
                f"orders/s for {args.latency_seconds:g}s ...",
                flush=True,
            )
            with Paused(app, worker.name, QUEUES):
                pools = ProcfilePools().start(app, others=1)
                try:
                    measure.pipeline(
                        seed, args.warmup, per_order=per_order, timeout=args.timeout
                    )  # warm the pools
                    results["commit_to_done_ms"] = phases.latency_rounds(
                        rounds=args.rounds,
                        seed=seed,
                        rate=args.rate,
                        seconds=args.latency_seconds,
                        per_order=per_order,
                        timeout=args.timeout,
                    )
                finally:
                    pools.stop()
            results["commit_to_done_ms"]["workers"] = {
                "procfile": pools.description(),
                "logs": str(pools.logs),
            }
            print(
                f"bench: latency with the bench's one worker (-c {args.concurrency}, every queue), {args.rounds} × "
                f"{args.rate:g} orders/s for {args.latency_seconds:g}s ...",
                flush=True,
            )
            measure.pipeline(
                seed, args.warmup, per_order=per_order, timeout=args.timeout
            )  # awake again after the pause
            results["commit_to_done_ms_one_worker"] = phases.latency_rounds(
                rounds=args.rounds,
                seed=seed,
                rate=args.rate,
                seconds=args.latency_seconds,
                per_order=per_order,
                timeout=args.timeout,
            )
        if "memory" not in args.skip and args.memory_deliveries > 0:
            from bench.memory import memory

            print(f"bench: memory, {args.memory_deliveries:,} deliveries ...", flush=True)
            results["memory"] = memory(
                worker.pid, args.memory_deliveries, [f"bench.noop_{q}" for q in QUEUES], timeout=args.timeout
            )
        if args.profile:
            results["profile"] = profile_pass(args, worker, seed, per_order)

        worker.stop()
        results["worker_log"] = str(worker.log_path)
        broker_keys_purge()
        if args.variant:
            from bench.variants import parse_variant, variant_rounds

            print(
                f"bench: pipeline with worker variants {args.variant}, {args.rounds} rounds ...", flush=True
            )
            results["variants"] = variant_rounds(
                variants=dict(parse_variant(v) for v in args.variant),
                rounds=args.rounds,
                seed=seed,
                per_order=per_order,
                orders=args.orders,
                concurrency=args.concurrency,
                loglevel=args.worker_loglevel,
                timeout=args.timeout,
            )
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
        results["brokers"] = {first: {k: results[k] for k in BROKER_KEYS if k in results}}
        for name in brokers[1:]:
            from bench.brokers import run_child

            print(f"bench: the worker-side phases again on {name} (a child run) ...", flush=True)
            results["brokers"][name] = run_child(
                name, args, database_url=source_url, redis_url=os.environ["REDIS_URL"]
            )
        return finish(args, results)
    except KeyboardInterrupt:
        print("\nbench: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        for w in (bare_worker, worker):
            if w is not None:
                with contextlib.suppress(Exception):
                    w.stop()
        if worker is not None:
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


BROKER_KEYS = (
    "celery_broker_url",
    "worker_settings",
    "throughput",
    "commit_to_done_ms",
    "commit_to_done_ms_one_worker",
    "memory",
)


def finish(args: argparse.Namespace, results: dict) -> int:
    """Load average at the end, summary, JSON, chart, table; the exit code."""
    from bench.report import print_table, summary
    from bench.stats import busy_warning, cpu_count, loadavg

    results["machine"]["loadavg_at_end"] = loadavg()
    if w := busy_warning(results["machine"]["loadavg_at_end"], cpu_count(), when="at the end"):
        results["warnings"].append(w)
    results["summary"] = summary(results)
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out = args.out or ROOT / "bench-results" / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_table(results)
    print(f"bench: results written to {out}")
    if not args.no_chart:
        from bench import chart

        print(f"bench: chart written to {chart.write(results, out.with_suffix('.svg'))}")
    missed = [k for k, ok in results["summary"]["targets_met"].items() if ok is False]
    return 1 if (missed and args.strict) else 0


def start_bare_worker(args: argparse.Namespace, broker_url: str):
    from bench import bare

    bare.configure(broker_url, os.environ["REDIS_URL"])
    bare.queue_purge()
    w = bare.BareWorker(
        concurrency=args.concurrency,
        broker_url=broker_url,
        redis_url=os.environ["REDIS_URL"],
        loglevel=args.worker_loglevel,
    ).start()
    bare.throughput(min(200, args.noop_tasks), timeout=args.timeout)  # warm its pool too
    print(
        f"bench: bare Celery worker {w.name} pid {w.pid} (Celery's defaults, -c {args.concurrency})",
        flush=True,
    )
    return w


def profile_pass(args, worker, seed, per_order) -> dict:
    from bench import measure
    from bench.profiling import PySpy, summarise

    pids = [worker.pid]
    print(
        f"bench: profiling worker {pids} and its pool with py-spy during an extra pipeline pass ...",
        flush=True,
    )
    with PySpy(pids, args.profile) as spy:
        time.sleep(0.5)  # let py-spy attach
        run = measure.pipeline(seed, args.orders, per_order=per_order, timeout=args.timeout)
    result = summarise(spy.outputs())
    result["pipeline_under_profiler"] = run
    (args.profile / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _db_sessions() -> int | None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return c.fetchone()[0]


if __name__ == "__main__":
    sys.exit(main())
