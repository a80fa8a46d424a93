"""bench/live.py's arithmetic: the ratios and targets the live phase reports from its rounds."""

from argparse import Namespace

from bench.live import summarise, summary_keys


def round_(kind: str, n: int, rps: float, p99: float, held: int | None = None) -> dict:
    r = {
        "kind": kind,
        "round": n,
        "rps": rps,
        "p50_ms": p99 / 3,
        "p99_ms": p99,
        "server_cpu_cores": 1.0,
        "server_cpu_ms_per_request": 15.0,
    }
    if held is not None:
        r["streams_held"] = held
    return r


def test_ratios_come_from_medians_and_targets_judge_them():
    rounds = []
    for n, (base, viewers, old) in enumerate([(100, 95, 90), (110, 90, 100), (90, 99, 80)], start=1):
        rounds += [
            round_("asgi", n, base, 200),
            round_("asgi_viewers", n, viewers, 280, held=2000 - n),
            round_("gthread", n, old, 210),
        ]
    extra = {
        "fanout": [{"round": 1, "samples": [{"p95_ms": 300.0}, {"p95_ms": 500.0}, {"p95_ms": 400.0}]}],
        "rss": [{"kb_per_stream": 40.0}, {"kb_per_stream": 5.0}],
        "abuse": {"healthz_max_ms": 200.0, "order_max_ms": 1200.0},
    }
    args = Namespace(live_streams=2000, live_rounds=3, api_seconds=10, api_concurrency=8)

    figures, met = summary_keys(summarise(rounds, extra, args))

    assert figures["live_streams"] == 1997  # the fewest held in any round
    assert figures["live_api_ratio"] == round(95 / 100, 3)  # medians: 95 with, 100 without
    assert figures["live_api_p99_ratio"] == 1.4
    assert figures["live_fanout_p95_ms"] == 400.0
    assert figures["live_rss_kb_per_stream"] == 40.0  # the first round's growth, not the median
    assert figures["live_vs_gthread_rps"] == round(100 / 90, 3)
    assert figures["live_abuse_max_ms"] == 1200.0
    assert met == {
        "live_streams>=2000": False,
        "live_api_ratio>=0.9": True,
        "live_api_p99_ratio<=1.5": True,
        "live_fanout_p95<=1000ms": True,
        "live_rss_kb_per_stream<=100": True,
        "live_vs_gthread_rps>=1.0": True,
        "live_abuse: /healthz and order <= 1s": False,
    }
