"""The bench's pure helpers: spreads, ratios, targets, the summary's keys, the chart. No timing."""

import argparse
import xml.dom.minidom

import pytest

from bench import brokers, chart, phases, report, stats
from bench.memory import checkpoints, reference_point

REQUIRED = (
    "api_rps_bus_on",
    "api_rps_bus_off",
    "api_ratio",
    "api_rps_minimal_create",
    "queries_per_order",
    "ratio_vs_bare_celery",
    "ratio",
    "commit_to_done_ms",
    "sweeper_redispatch_per_s",
    "sweeper_100k_s",
    "worker_rss_growth",
    "targets_met",
)


def test_spread_and_percentiles():
    assert stats.spread([3, 1, 2]) == {"min": 1, "median": 2, "max": 3, "values": [3, 1, 2], "rounds": 3}
    assert stats.spread([])["median"] is None
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    lat = stats.latency_percentiles([5.0, 1.0, 3.0])
    assert (lat["p50"], lat["min"], lat["max"], lat["samples"]) == (3.0, 1.0, 5.0, 3)


def test_busy_warning_and_growth():
    assert stats.busy_warning([0.9, 0.5, 0.5], 2, when="at start") is None
    assert "load average 1.20 on 2 cores" in stats.busy_warning([1.2, 1, 1], 2, when="at start")
    assert stats.growth(100, 105) == 0.05
    assert stats.growth(None, 1) is None and stats.growth(0, 1) is None


def test_rounds_rotate_and_ratios_are_paired():
    kinds = ("bare", "baseline", "pipeline")
    assert [phases.round_order(i, kinds) for i in range(3)] == [
        ["bare", "baseline", "pipeline"],
        ["baseline", "pipeline", "bare"],
        ["pipeline", "bare", "baseline"],
    ]
    assert phases.round_order(1) == ["baseline", "pipeline", "pipeline_live", "bare"]
    rounds = [
        {
            "bare": {"tasks_per_s": 400},
            "baseline": {"tasks_per_s": 200},
            "pipeline": {"deliveries_per_s": 100, "orders_per_s": 20},
            "pipeline_live": {"deliveries_per_s": 60},
        },
        {
            "bare": {"tasks_per_s": 200},
            "baseline": {"tasks_per_s": 100},
            "pipeline": {"deliveries_per_s": 100, "orders_per_s": 20},
            "pipeline_live": {"deliveries_per_s": 70},
        },
    ]
    out = phases.summarise_rounds(rounds)
    assert out["pipeline_live_deliveries_per_s"]["median"] == 65
    assert out["ratio_vs_bare_celery"]["values"] == [0.25, 0.5]
    assert out["ratio"]["values"] == [0.5, 1.0]
    assert out["bare_tasks_per_s"]["median"] == 300


def test_latency_pools_every_order_of_every_round():
    per_round = [
        {
            "samples_ms": [1.0, 2.0],
            "orders": 2,
            "orders_placed_late": 0,
            "achieved_orders_per_s": 20,
            "p50": 1.5,
            "p95": 2,
            "p99": 2,
        },
        {
            "samples_ms": [3.0, 4.0],
            "orders": 2,
            "orders_placed_late": 1,
            "achieved_orders_per_s": 19,
            "p50": 3.5,
            "p95": 4,
            "p99": 4,
        },
    ]
    per_round[0]["stages_samples_ms"] = {
        "commit_to_claim": [1.0, 3.0],
        "claim_to_done": [0.5],
        "one_delivery": [2.0],
    }
    per_round[1]["stages_samples_ms"] = {
        "commit_to_claim": [5.0],
        "claim_to_done": [1.5],
        "one_delivery": [4.0],
    }
    out = phases.summarise_latency(per_round, rate=20)
    assert out["samples"] == 4 and out["p50"] == 2.5 and out["orders_placed_late"] == 1
    # every round's deliveries pooled per stage, the samples left out of the rounds
    assert out["stages_ms"]["commit_to_claim"] == {"p50": 3.0, "p95": 4.8, "samples": 3}
    assert out["stages_ms"]["claim_to_done"]["p50"] == 1.0 and "stages_samples_ms" not in out["rounds"][1]
    assert out["p50_rounds"]["values"] == [1.5, 3.5]
    assert "samples_ms" not in out["rounds"][0]


def test_memory_checkpoints():
    assert reference_point(100_000) == 10_000 and reference_point(2_000) == 200
    marks = checkpoints(100_000, 1000)
    assert marks[0] == 10_000 and marks[-1] == 100_000 and all(m % 1000 == 0 for m in marks)


def test_summary_keys_are_always_there_and_targets_none_when_not_measured():
    s = report.summary({})
    assert set(REQUIRED) <= set(s)
    assert all(v is None for v in s["targets_met"].values())


def _api_round(kind, rps, cpu_ms):
    return {
        "kind": kind,
        "rps": rps,
        "p50_ms": 100.0,
        "p99_ms": 200.0,
        "client_cpu_util": 0.3,
        "server_cpu_cores": 1.5,
        "server_cpu_ms_per_request": cpu_ms,
        "written": {"orders": 10},
    }


def _api():
    from bench import api

    args = argparse.Namespace(
        api_concurrency=8, api_seconds=10, api_rounds=2, api_customers=100, api_keepalive=False
    )
    rounds = [
        _api_round("bus_on", 80, 20.0),
        _api_round("bus_off", 100, 16.0),
        _api_round("minimal_create", 200, 8.0),
        _api_round("healthz", 2000, 1.0),
        _api_round("bus_on", 81, 20.0),
        _api_round("bus_off", 99, 16.0),
        _api_round("minimal_create", 210, 8.0),
        _api_round("healthz", 2100, 1.0),
    ]
    return api.summarise(
        rounds, args, ["bus_on", "bus_off", "minimal_create", "healthz"], command=["gunicorn"], logs=""
    )


def _results():
    return {
        "broker": "redis",
        "order_request": {"max": 9},
        "throughput": phases.summarise_rounds(
            [
                {
                    "bare": {"tasks_per_s": 400},
                    "baseline": {"tasks_per_s": 300},
                    "pipeline": {"deliveries_per_s": 150, "orders_per_s": 30},
                }
            ]
        ),
        "commit_to_done_ms": {
            "p50": 12.0,
            "p95": 20.0,
            "p99": 60.0,
            "target_orders_per_s": 20,
            "p50_rounds": stats.spread([12.0]),
            "p99_rounds": stats.spread([60.0]),
        },
        "memory": {
            "worker_rss_growth": 0.02,
            "at_target_scale": False,
            "reference_deliveries": 200,
            "deliveries": 2000,
            "rss_at_reference_bytes": 2**20,
            "rss_at_n_bytes": 2**20,
        },
        "sweeper": {"redispatch_per_s": 1500, "stranded": 100_000, "elapsed_s": 70},
        "api": _api(),
    }


def test_summary_and_targets():
    s = report.summary(_results())
    assert s["ratio_vs_bare_celery"] == 0.375 and s["ratio"] == 0.5
    assert s["sweeper_100k_s"] == 70 and s["api_rps_bus_on"] == 80.5 and s["api_rps_bus_off"] == 99.5
    assert s["api_ratio"] == 0.809 and s["api_rps_minimal_create"] == 205 and s["api_cpu_ratio"] == 0.8
    met = s["targets_met"]
    assert met["api_ratio>=0.7"] is True and met["api_vs_minimal>=0.25"] is True
    assert (
        met["ratio_vs_bare_celery>=0.5"] is False and met["p50<=15ms"] is True and met["p99<=50ms"] is False
    )
    assert met["worker_rss_growth<=10%"] is None  # a quick run: not at the scale
    assert met["sweeper_100k<=100s"] is True and met["queries_per_order<=10"] is True


def test_chart_is_valid_svg_with_or_without_api(capsys):
    r = _results()
    r["commit_to_done_ms"]["samples_ms"] = [5.0, 9.0, 14.0, 30.0]
    r["brokers"] = {"redis": r.copy()}
    assert chart.api_bars(r["api"]) == [
        ("bus_on", [80.0, 81.0]),
        ("bus_off", [100.0, 99.0]),
        ("minimal_create", [200.0, 210.0]),
    ]  # /healthz, the ceiling, left out
    for results in (r, {k: v for k, v in r.items() if k != "api"}, {}):
        xml.dom.minidom.parseString(chart.svg(results))  # noqa: S318 - the chart this test just drew
    report.print_table(
        {
            **r,
            "summary": report.summary(r),
            "machine": {
                "cpu_count": 2,
                "python": "3",
                "django": "5",
                "celery": "5",
                "database": "pg",
                "broker": "redis",
            },
            "settings": {"worker": "prefork"},
        }
    )
    out = capsys.readouterr().out
    assert "ratio vs bare Celery" in out and "api ratio bus on / off (>= 0.7)" in out


@pytest.mark.parametrize("api", [None, [], {"rounds": "x"}, {"rounds": [{"kind": "bus_on", "rps": "fast"}]}])
def test_api_bars_without_a_usable_api_phase_draw_nothing(api):
    assert chart.api_bars(api) == []


def test_brokers():
    assert (
        brokers.broker_name("amqp://g:g@h:5672/v") == "rabbitmq"
        and brokers.broker_name("redis://h/1") == "redis"
    )
    assert brokers.parse_brokers("redis, RabbitMQ,redis") == ["redis", "rabbitmq"]
    with pytest.raises(ValueError):
        brokers.parse_brokers("kafka")
    args = argparse.Namespace(
        orders=10,
        noop_tasks=100,
        concurrency=2,
        rate=20.0,
        latency_seconds=5.0,
        warmup=1,
        rounds=2,
        memory_deliveries=1000,
        timeout=60.0,
        worker_loglevel="WARNING",
        skip=["memory"],
    )
    argv = brokers.child_argv(args, args.skip, brokers.ROOT / "x.json")
    assert "--no-chart" in argv and argv[argv.index("--rounds") + 1] == "2"
    assert {"memory", "queries", "sweeper", "retention"} <= {
        argv[i + 1] for i, a in enumerate(argv) if a == "--skip"
    }


def test_variants_parse_and_pair_with_the_shipped_worker():
    from bench.variants import SHIPPED, parse_variant, summarise_variants

    assert parse_variant("events-on:CELERY_WORKER_SEND_TASK_EVENTS=true, A=1") == (
        "events-on",
        {"CELERY_WORKER_SEND_TASK_EVENTS": "true", "A": "1"},
    )
    for bad in ("no-colon", ":A=1", "x:A"):
        with pytest.raises(ValueError):
            parse_variant(bad)
    rounds = [
        {SHIPPED: {"deliveries_per_s": 100}, "v": {"deliveries_per_s": 150}},
        {SHIPPED: {"deliveries_per_s": 50}, "v": {"deliveries_per_s": 100}},
    ]
    out = summarise_variants(rounds, (SHIPPED, "v"), {SHIPPED: {}, "v": {"A": "1"}})
    assert out["variants"]["v"]["vs_shipped"]["values"] == [1.5, 2.0]
    assert out["variants"][SHIPPED]["vs_shipped"]["median"] == 1.0
