"""Before/after in one run: the pipeline with the shipped worker and with worker environment variants.

    python -m bench --variant events-on:CELERY_WORKER_SEND_TASK_EVENTS=true \\
                    --variant health-check-every-task:DB_HEALTH_CHECK_AFTER_IDLE_SECONDS=0

Each round starts a fresh worker per variant ("shipped" = no override, always first in round 1)
in a rotating order, warms it, runs the same pipeline pass, stops it: one worker at a time, so
none steals another's messages. Rates are compared within a round (paired), like the ratios.
"""

from __future__ import annotations

from bench import measure
from bench.phases import round_order
from bench.stats import loadavg, spread

SHIPPED = "shipped"


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """'name:KEY=VAL,KEY2=VAL2' → (name, {KEY: VAL, KEY2: VAL2})."""
    name, sep, assignments = text.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"--variant {text!r}: expected NAME:KEY=VALUE[,KEY=VALUE]")
    env = {}
    for item in filter(None, (a.strip() for a in assignments.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ValueError(f"--variant {text!r}: {item!r} is not KEY=VALUE")
        env[key.strip()] = value.strip()
    return name.strip(), env


def variant_rounds(
    *,
    variants: dict[str, dict[str, str]],
    rounds: int,
    seed: dict,
    per_order: int,
    orders: int,
    concurrency: int,
    loglevel: str,
    timeout: float,
    log=print,
) -> dict:
    from bench.worker import bench_worker, broker_keys_purge

    names = (SHIPPED, *[n for n in variants if n != SHIPPED])
    envs = {SHIPPED: {}, **variants}
    per_round = []
    for i in range(rounds):
        row: dict = {"round": i + 1, "order": round_order(i, names), "loadavg_before": loadavg()}
        for name in row["order"]:
            worker = bench_worker(concurrency=concurrency, loglevel=loglevel, env=envs[name]).start()
            try:
                measure.baseline(100, timeout=timeout)  # warm the pool
                row[name] = measure.pipeline_drain(
                    seed, orders, per_order=per_order, timeout=timeout, node=worker.name
                )
            finally:
                worker.stop()
                broker_keys_purge()
        row["loadavg_after"] = loadavg()
        per_round.append(row)
        log(
            f"bench:   variants round {i + 1}/{rounds}: "
            + ", ".join(f"{n} {row[n]['deliveries_per_s']:,.0f}/s" for n in row["order"])
        )
    return summarise_variants(per_round, names, envs)


def summarise_variants(per_round: list[dict], names, envs) -> dict:
    out: dict = {"rounds": per_round, "variants": {}}
    for name in names:
        rates = [r[name]["deliveries_per_s"] for r in per_round if name in r]
        paired = [
            r[name]["deliveries_per_s"] / r[SHIPPED]["deliveries_per_s"]
            for r in per_round
            if name in r and SHIPPED in r
        ]
        out["variants"][name] = {
            "env": envs[name],
            "pipeline_deliveries_per_s": spread(rates, digits=1),
            "vs_shipped": spread(paired),
        }
    return out
