"""The tracing phase: what OpenTelemetry costs, tracing off vs on in the same run (docs/tracing.md).

- API: two gunicorn servers from the Procfile's `web:` line (bench/server.py), bus on, one with
  tracing off (the default: no OTEL_* variable) and one exporting OTLP/HTTP to a local receiver
  (this process, a thread that decodes and counts the spans, as a Collector next to the web would).
  Rounds alternate off/on with the API phase's client (bench/loadgen.py); req/s, p50/p99 and the
  servers' CPU per request. No worker consumes meanwhile.
- commit → done: per round, a fresh bench worker with tracing off, then one with tracing on (order
  rotated), each measured with the latency pass (bench/measure.py: orders committed by this
  process at a steady rate; last delivery finished − commit, database clock). This process does
  not trace (one tracer provider per process), so the figure is the workers' side: the task and
  attempt spans, database and Redis spans, their export; the order request's own share is the
  API figure above.
A third mode, "sampled", runs tracing on with OTEL_TRACES_SAMPLER=parentbased_traceidratio at 0.1
(docs/tracing.md's advice for a busy shop). Target: tracing on keeps >= 0.85 of the tracing-off API
throughput (the issue: <= 15 % cost).

Measuring a change before shipping it (docs/tracing.md "Cost"):
- `--tracing-variant NAME:KEY=VALUE[,KEY=VALUE]` (repeatable) adds a server with tracing on and
  these environment overrides to every API round, e.g. `noredis:OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=redis`;
  its ratio to "off" is paired within the round like the others'.
- `--tracing-profile DIR` then runs one more API round per mode with py-spy on the web workers and
  says which share of their busy time OpenTelemetry's code takes, by package (summary in DIR).
"""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.stats import spread  # no Django import at module level (report.py reads the summary)

TARGET_API_RATIO = 0.85
# "sampled": tracing on with the sampler docs/tracing.md suggests for a busy shop (10 % of traces).
MODES = ("off", "on", "sampled")
SAMPLED = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}


class SpanSink:
    """An OTLP/HTTP endpoint that decodes each export and counts its spans."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        self.spans = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                n = sum(
                    len(ss.spans)
                    for rs in ExportTraceServiceRequest.FromString(body).resource_spans
                    for ss in rs.scope_spans
                )
                with lock:
                    outer.spans += n
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def tracing_env(sink: SpanSink) -> dict[str, str]:
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint}


def add_arguments(p) -> None:
    g = p.add_argument_group("tracing phase (bench/tracing.py)")
    g.add_argument(
        "--tracing-variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE[,KEY=VALUE]",
        help="also a server with tracing on and these environment overrides in every API round (repeatable)",
    )
    g.add_argument(
        "--tracing-profile",
        type=Path,
        metavar="DIR",
        help="then one more API round per mode with py-spy on the web workers; summary in DIR",
    )


def modes_and_envs(args, sink: SpanSink) -> dict[str, dict[str, str]]:
    """{mode: the server's environment}: off, on, sampled, then each --tracing-variant."""
    from bench.variants import parse_variant

    envs = {"off": {}, "on": tracing_env(sink), "sampled": {**tracing_env(sink), **SAMPLED}}
    for text in getattr(args, "tracing_variant", None) or []:
        name, env = parse_variant(text)
        if name in envs:
            raise ValueError(f"--tracing-variant {text!r}: {name!r} is taken")
        envs[name] = {**tracing_env(sink), **env}
    return envs


def phase(args, seed: dict, *, per_order: int, log=print) -> dict:
    import tempfile

    from bench import api, measure
    from bench.phases import round_order
    from bench.server import WebServer
    from bench.worker import bench_worker, broker_keys_purge

    sink = SpanSink()
    work = Path(tempfile.mkdtemp(prefix="pz-bench-tracing-"))
    envs = modes_and_envs(args, sink)
    api_modes = tuple(envs)
    out: dict = {"api_rounds": [], "latency_rounds": [], "modes": list(api_modes)}
    try:
        with contextlib.ExitStack() as stack:
            servers = {}
            for mode in api_modes:
                server = WebServer(
                    f"tracing-{mode}", {**api.SERVER_ENV, "BENCH_BUS": "on", **envs[mode]}, work
                )
                stack.callback(server.stop)
                servers[mode] = server.start()
            tokens = _tokens(args.api_customers)
            base = {
                "seconds": args.api_seconds,
                "concurrency": args.api_concurrency,
                "keepalive": args.api_keepalive,
                "path": "/api/orders/",
                "body": api.order_body(seed),
                "tokens": tokens,
                "idempotency": True,
            }
            specs = {
                mode: {
                    **base,
                    "url": servers[mode].base_url + "/api/orders/",
                    "start": i * len(tokens) // len(api_modes),
                }
                for i, mode in enumerate(api_modes)
            }
            for mode in api_modes:  # warm-up, unmeasured
                specs[mode]["start"] = api.loadgen({**specs[mode], "seconds": args.api_warmup}, work)[
                    "next_index"
                ]
            for n in range(args.api_rounds):
                for mode in round_order(n, api_modes):
                    spans_before = sink.spans
                    r = api.run_round("bus_on", servers[mode], specs[mode], work, per_order=per_order)
                    time.sleep(0.5)  # the batch processor's last export of the round
                    r.update(mode=mode, round=n + 1, spans_exported=sink.spans - spans_before)
                    out["api_rounds"].append(r)
                    log(
                        f"bench: tracing api round {n + 1} {mode:<3} {r['rps']:>8.1f} req/s  p50 {r['p50_ms']:.1f} ms  "
                        f"p99 {r['p99_ms']:.1f} ms  {r['server_cpu_ms_per_request']:.1f} ms CPU/request  "
                        f"{r['spans_exported']} spans exported"
                    )
            if getattr(args, "tracing_profile", None):
                from bench.tracingprofile import profile_modes

                out["profile"] = profile_modes(
                    servers, specs, work, args.tracing_profile, per_order=per_order, log=log
                )
        broker_keys_purge()
        out["api_unsent_deliveries_dropped"] = measure.unsent_deliveries_drop()
        for n in range(args.rounds):
            for mode in round_order(n, MODES):
                worker = bench_worker(
                    concurrency=args.concurrency, loglevel=args.worker_loglevel, env=envs[mode]
                ).start()
                assert worker.proc is not None
                try:
                    measure.pipeline(
                        seed, args.warmup, per_order=per_order, timeout=args.timeout
                    )  # warm the pool
                    spans_before = sink.spans
                    cpu0 = _cpu_seconds(worker.proc.pid)
                    r = measure.latency(
                        seed,
                        rate=args.rate,
                        seconds=args.latency_seconds,
                        per_order=per_order,
                        timeout=args.timeout,
                    )
                    time.sleep(0.5)  # the pool's last export
                    # CPU is steadier than latency on a shared machine: the pool's own cost per delivery
                    r["worker_cpu_ms_per_delivery"] = round(
                        1000 * (_cpu_seconds(worker.proc.pid) - cpu0) / (r["orders"] * per_order), 3
                    )
                finally:
                    worker.stop()
                    broker_keys_purge()
                r = {k: v for k, v in r.items() if k not in ("samples_ms", "stages_samples_ms")}
                r.update(mode=mode, round=n + 1, spans_exported=sink.spans - spans_before)
                out["latency_rounds"].append(r)
                log(
                    f"bench: tracing latency round {n + 1} {mode:<3} p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms  "
                    f"worker {r['worker_cpu_ms_per_delivery']:.2f} ms CPU/delivery  {r['spans_exported']} spans exported"
                )
    finally:
        sink.close()
    return summarise(out)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the prefork pool)."""
    import psutil

    main = psutil.Process(pid)
    total = 0.0
    for p in [main, *main.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def _tokens(n: int) -> list[str]:
    """The API phase's seeded customers when it ran, else seeded here."""
    from rest_framework.authtoken.models import Token

    from bench import api

    tokens = list(Token.objects.filter(user__username__startswith="bench-api-").values_list("key", flat=True))
    return tokens or api.seed_customers(n)


def summarise(out: dict) -> dict:
    from bench.measure import BenchError

    # (only the tracing-on processes export; an "off" round may still see the "on" server's last batch)
    for r in out["api_rounds"] + out["latency_rounds"]:
        if r["mode"] == "on" and not r["spans_exported"]:
            raise BenchError(f"tracing on: no span exported in a round ({r})")
    modes = out.get("modes") or list(MODES)
    for mode in modes:
        api_rounds = [r for r in out["api_rounds"] if r["mode"] == mode]
        lat_rounds = [r for r in out["latency_rounds"] if r["mode"] == mode]
        out[mode] = {
            **{
                k: spread([r[k] for r in api_rounds])
                for k in ("rps", "p50_ms", "p99_ms", "server_cpu_ms_per_request")
            },
            "commit_to_done_p50_ms": spread([r["p50"] for r in lat_rounds], digits=2),
            "commit_to_done_p99_ms": spread([r["p99"] for r in lat_rounds], digits=2),
            "worker_cpu_ms_per_delivery": spread([r["worker_cpu_ms_per_delivery"] for r in lat_rounds]),
        }
    off = [r["rps"] for r in out["api_rounds"] if r["mode"] == "off"]
    for mode in modes[1:]:  # paired within a round
        mine = [r["rps"] for r in out["api_rounds"] if r["mode"] == mode]
        out[f"api_ratio_{mode}"] = (
            spread([round(a / b, 3) for a, b in zip(mine, off, strict=False)]) if mine else None
        )
    return out


def summary_keys(t: dict) -> tuple[dict, dict]:
    def med(mode: str, key: str):
        return (t.get(mode) or {}).get(key, {}).get("median")

    s = {
        "tracing_api_rps_off": med("off", "rps"),
        "tracing_api_rps_on": med("on", "rps"),
        "tracing_api_ratio": (t.get("api_ratio_on") or {}).get("median"),
        "tracing_api_rps_sampled": med("sampled", "rps"),
        "tracing_api_ratio_sampled": (t.get("api_ratio_sampled") or {}).get("median"),
        "tracing_cpu_ms_per_request_sampled": med("sampled", "server_cpu_ms_per_request"),
        "tracing_commit_to_done_p50_ms_sampled": med("sampled", "commit_to_done_p50_ms"),
        "tracing_commit_to_done_p99_ms_sampled": med("sampled", "commit_to_done_p99_ms"),
        "tracing_cpu_ms_per_request_off": med("off", "server_cpu_ms_per_request"),
        "tracing_cpu_ms_per_request_on": med("on", "server_cpu_ms_per_request"),
        "tracing_commit_to_done_p50_ms_off": med("off", "commit_to_done_p50_ms"),
        "tracing_commit_to_done_p50_ms_on": med("on", "commit_to_done_p50_ms"),
        "tracing_commit_to_done_p99_ms_off": med("off", "commit_to_done_p99_ms"),
        "tracing_commit_to_done_p99_ms_on": med("on", "commit_to_done_p99_ms"),
        "tracing_worker_cpu_ms_per_delivery_off": med("off", "worker_cpu_ms_per_delivery"),
        "tracing_worker_cpu_ms_per_delivery_on": med("on", "worker_cpu_ms_per_delivery"),
        "tracing_worker_cpu_ms_per_delivery_sampled": med("sampled", "worker_cpu_ms_per_delivery"),
    }
    # CPU per request, off / on: steadier than req/s when the machine is shared (as the API phase's)
    for mode in ("on", "sampled"):
        off_cpu, cpu = s["tracing_cpu_ms_per_request_off"], s[f"tracing_cpu_ms_per_request_{mode}"]
        s[f"tracing_api_cpu_ratio_{mode}"] = round(off_cpu / cpu, 3) if off_cpu and cpu else None
    for mode in (t.get("modes") or [])[len(MODES) :]:  # --tracing-variant
        s[f"tracing_api_ratio_{mode}"] = (t.get(f"api_ratio_{mode}") or {}).get("median")
        s[f"tracing_cpu_ms_per_request_{mode}"] = med(mode, "server_cpu_ms_per_request")
    ratio = s["tracing_api_ratio"]
    return s, {"tracing_api_ratio>=0.85": None if ratio is None else ratio >= TARGET_API_RATIO}


def table_rows(s: dict, flag) -> list[tuple[str, str, str]]:
    def f(v, digits=0):
        return "-" if v is None else f"{v:,.{digits}f}"

    return [
        (
            "POST /api/orders/ tracing off / on req/s (CPU ms/req)",
            f"{f(s['tracing_api_rps_off'])} / {f(s['tracing_api_rps_on'])} "
            f"({f(s['tracing_cpu_ms_per_request_off'], 1)} / {f(s['tracing_cpu_ms_per_request_on'], 1)})",
            "",
        ),
        (
            "tracing on / off API throughput (>= 0.85)",
            f(s["tracing_api_ratio"], 2),
            flag("tracing_api_ratio>=0.85"),
        ),
        (
            "tracing API CPU ratio off / on; off / sampled 10 %",
            f"{f(s['tracing_api_cpu_ratio_on'], 2)}; {f(s['tracing_api_cpu_ratio_sampled'], 2)}",
            "",
        ),
        (
            "commit -> done p50 / p99 ms, worker tracing off",
            f"{f(s['tracing_commit_to_done_p50_ms_off'], 1)} / {f(s['tracing_commit_to_done_p99_ms_off'], 1)}",
            "",
        ),
        (
            "commit -> done p50 / p99 ms, worker tracing on",
            f"{f(s['tracing_commit_to_done_p50_ms_on'], 1)} / {f(s['tracing_commit_to_done_p99_ms_on'], 1)}",
            "",
        ),
        (
            "worker CPU ms per delivery, tracing off / on / sampled 10 %",
            f"{f(s['tracing_worker_cpu_ms_per_delivery_off'], 2)} / {f(s['tracing_worker_cpu_ms_per_delivery_on'], 2)} / "
            f"{f(s['tracing_worker_cpu_ms_per_delivery_sampled'], 2)}",
            "",
        ),
        (
            "tracing sampled 10 %: API req/s, × off (CPU ms/req)",
            f"{f(s['tracing_api_rps_sampled'])} ×{f(s['tracing_api_ratio_sampled'], 2)} "
            f"({f(s['tracing_cpu_ms_per_request_sampled'], 1)})",
            "",
        ),
        (
            "commit -> done p50 / p99 ms, worker sampled 10 %",
            f"{f(s['tracing_commit_to_done_p50_ms_sampled'], 1)} / {f(s['tracing_commit_to_done_p99_ms_sampled'], 1)}",
            "",
        ),
    ]
