"""Repeated rounds: throughput (bare Celery, in-project baseline, pipeline, alternated) and latency.

Noise on a shared machine hits whichever measurement runs while it lasts; running the
throughput measurements back to back in each round, in a rotating order, spreads it over all of
them, and each ratio is taken within a round (paired), then summarised over the rounds.

bare, baseline and pipeline are drain rates: the work is queued while the worker consumes
nothing, then the clock runs from its resuming to the last task done (bench.worker.Paused), so
each figure is the worker's and none pays for the process filling the queues. pipeline_live is
the pipeline with the orders placed meanwhile by this process on the same cores (the figure
earlier runs reported as "pipeline").
"""

from __future__ import annotations

import time
from typing import Any

from bench import measure
from bench.stats import latency_percentiles, loadavg, spread

KINDS = ("bare", "baseline", "pipeline", "pipeline_live")


def round_order(i: int, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """Round i runs the kinds rotated by i: noise at a round's start or end falls on each in turn."""
    k = i % len(kinds) if kinds else 0
    return list(kinds[k:] + kinds[:k])


def throughput_rounds(
    *,
    rounds: int,
    seed: dict,
    per_order: int,
    orders: int,
    noop_tasks: int,
    timeout: float,
    kinds: tuple[str, ...],
    nodes: dict[str, Any],
    log=print,
) -> dict:
    """`rounds` × (bare no-op tasks, in-project no-op tasks, pipeline orders drained and live) and
    their spreads; nodes: the worker names, {"bench": ..., "bare": ...}."""
    from bench import bare

    per_round = []
    for i in range(rounds):
        row: dict = {"round": i + 1, "order": round_order(i, kinds), "loadavg_before": loadavg()}
        for kind in row["order"]:
            if kind == "bare":
                row["bare"] = bare.throughput(noop_tasks, timeout=timeout, node=nodes["bare"])
            elif kind == "baseline":
                row["baseline"] = measure.baseline(noop_tasks, timeout=timeout, node=nodes["bench"])
            elif kind == "pipeline":
                row["pipeline"] = measure.pipeline_drain(
                    seed, orders, per_order=per_order, timeout=timeout, node=nodes["bench"]
                )
            else:
                row["pipeline_live"] = measure.pipeline(seed, orders, per_order=per_order, timeout=timeout)
        row["loadavg_after"] = loadavg()
        per_round.append(row)
        log(
            f"bench:   round {i + 1}/{rounds}: "
            + ", ".join(f"{k} {_rate(row[k]):,.0f}/s" for k in row["order"])
            + f" (load {row['loadavg_after'][0]:.2f})"
        )
    return summarise_rounds(per_round)


def _rate(measurement: dict) -> float:
    return measurement.get("deliveries_per_s", measurement.get("tasks_per_s"))  # type: ignore[return-value]  # one of them is there


def summarise_rounds(per_round: list[dict]) -> dict:
    """Spreads of each rate and of the within-round ratios."""
    out: dict = {"rounds": per_round}

    def rates(kind):
        return [_rate(r[kind]) for r in per_round if kind in r]

    if rates("bare"):
        out["bare_tasks_per_s"] = spread(rates("bare"), digits=1)
    if rates("baseline"):
        out["baseline_tasks_per_s"] = spread(rates("baseline"), digits=1)
    if rates("pipeline"):
        out["pipeline_deliveries_per_s"] = spread(rates("pipeline"), digits=1)
        out["orders_per_s"] = spread(
            [r["pipeline"]["orders_per_s"] for r in per_round if "pipeline" in r], digits=1
        )
    if rates("pipeline_live"):
        out["pipeline_live_deliveries_per_s"] = spread(rates("pipeline_live"), digits=1)
    paired = [r for r in per_round if "pipeline" in r and "baseline" in r]
    if paired:
        out["ratio"] = spread([_rate(r["pipeline"]) / _rate(r["baseline"]) for r in paired])
    paired = [r for r in per_round if "pipeline" in r and "bare" in r]
    if paired:
        out["ratio_vs_bare_celery"] = spread([_rate(r["pipeline"]) / _rate(r["bare"]) for r in paired])
    return out


def latency_rounds(
    *, rounds: int, seed: dict, rate: float, seconds: float, per_order: int, timeout: float, log=print
) -> dict:
    """`rounds` latency passes; the percentiles pooled over every order, and each round's spread."""
    per_round = []
    for i in range(rounds):
        before = loadavg()
        r = measure.latency(seed, rate=rate, seconds=seconds, per_order=per_order, timeout=timeout)
        r["loadavg_before"], r["loadavg_after"] = before, loadavg()
        per_round.append(r)
        log(
            f"bench:   round {i + 1}/{rounds}: p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms "
            f"(load {r['loadavg_after'][0]:.2f})"
        )
        time.sleep(0.2)
    return summarise_latency(per_round, rate=rate)


def summarise_latency(per_round: list[dict], *, rate: float) -> dict:
    samples = sorted(x for r in per_round for x in r["samples_ms"])
    out = latency_percentiles(samples)
    out.update(
        {
            "target_orders_per_s": rate,
            "orders": sum(r["orders"] for r in per_round),
            "orders_placed_late": sum(r["orders_placed_late"] for r in per_round),
            "achieved_orders_per_s": spread([r["achieved_orders_per_s"] for r in per_round], digits=2),
            "p50_rounds": spread([r["p50"] for r in per_round], digits=2),
            "p95_rounds": spread([r["p95"] for r in per_round], digits=2),
            "p99_rounds": spread([r["p99"] for r in per_round], digits=2),
            "samples_ms": samples,
            "rounds": [
                {k: v for k, v in r.items() if k not in ("samples_ms", "stages_samples_ms")}
                for r in per_round
            ],
        }
    )
    staged = [r["stages_samples_ms"] for r in per_round if "stages_samples_ms" in r]
    if staged:
        out["stages_ms"] = {
            stage: {
                k: v
                for k, v in latency_percentiles(sorted(x for st in staged for x in st[stage])).items()
                if k in ("p50", "p95", "samples")
            }
            for stage in staged[0]
        }
    return out


def worker_settings(app, name: str) -> dict:
    """What the running worker says it runs with (not what this process would configure)."""
    inspect = app.control.inspect(destination=[name], timeout=3.0)
    conf = (inspect.conf(with_defaults=True) or {}).get(name, {})
    stats = (inspect.stats() or {}).get(name, {})
    pool = stats.get("pool", {})
    return {
        "node": name,
        "broker_transport": (stats.get("broker") or {}).get("transport"),
        "pool": pool.get("implementation"),
        "concurrency": pool.get("max-concurrency"),
        "prefetch_count": stats.get("prefetch_count"),
        "worker_prefetch_multiplier": conf.get("worker_prefetch_multiplier"),
        "worker_send_task_events": conf.get("worker_send_task_events"),
        "task_send_sent_event": conf.get("task_send_sent_event"),
        "task_acks_late": conf.get("task_acks_late"),
        "worker_detect_quorum_queues": conf.get("worker_detect_quorum_queues"),
    }
