"""The tracing phase's bookkeeping (bench/tracing.py): variants, the profile's OpenTelemetry share,
paired ratios. The phase itself runs in `make bench`, not here."""

import argparse
import types

import pytest

from bench import tracing, tracingprofile

SITE = "/x/.venv/lib/python3.11/site-packages/"


def frame(function: str, path: str) -> str:
    return f"{function} ({path}:1)"


def otel(function: str, path: str) -> str:
    return frame(function, SITE + "opentelemetry/" + path)


def lib(function: str, path: str) -> str:
    return frame(function, SITE + path)


def args(*variants: str) -> argparse.Namespace:
    return argparse.Namespace(tracing_variant=list(variants))


def test_variants_add_modes_with_tracing_on_and_their_overrides():
    sink = types.SimpleNamespace(endpoint="http://127.0.0.1:4318")
    envs = tracing.modes_and_envs(args("noredis:OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=redis"), sink)
    assert list(envs) == ["off", "on", "sampled", "noredis"]
    assert envs["off"] == {}
    assert envs["noredis"] == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "redis",
    }
    with pytest.raises(ValueError, match="taken"):
        tracing.modes_and_envs(args("on:OTEL_TRACES_SAMPLER=always_off"), sink)
    with pytest.raises(ValueError):
        tracing.modes_and_envs(args("nothing-to-set"), sink)


def test_the_profile_counts_opentelemetry_code_not_the_calls_it_wraps(tmp_path):
    request = [
        frame("_worker", "/usr/lib/python3.11/concurrent/futures/thread.py"),
        otel("_DjangoMiddleware.__call__", "instrumentation/django/middleware/otel_middleware.py"),
        lib("BaseHandler.get_response", "django/core/handlers/base.py"),
    ]
    query = [
        *request,
        lib("CursorWrapper._execute", "django/db/backends/utils.py"),
        otel("TracedCursorFactory.execute", "instrumentation/psycopg/__init__.py"),
        otel("CursorTracer.traced_execution", "instrumentation/dbapi/__init__.py"),
    ]
    export = [
        frame("Thread.run", "/usr/lib/python3.11/threading.py"),
        otel("BatchProcessor.worker", "sdk/_shared_internal/__init__.py"),
        otel("_encode_span", "exporter/otlp/proto/common/_internal/trace_encoder/__init__.py"),
    ]
    lines = {
        # the view's own work under the Django middleware: not tracing's
        (*request, frame("OrderListCreateApi.post", "/work/main/orders/api/views.py")): 50,
        # the query itself, below the psycopg wrapper: not tracing's
        (*query, lib("Cursor.execute", "psycopg/cursor.py")): 30,
        # the query span's attributes: tracing's, entered through the psycopg instrumentation
        (
            *query,
            otel("CursorTracer._populate_span", "instrumentation/dbapi/__init__.py"),
            otel("Span.set_attribute", "sdk/trace/__init__.py"),
        ): 6,
        # the bus's own span, started from our code
        (
            *request,
            frame("outbox_span", "/work/main/eventbus/spans.py"),
            otel("Tracer.start_span", "sdk/trace/__init__.py"),
        ): 4,
        # the export thread encoding, and waiting (not busy)
        tuple(export): 10,
        (*export[:2], frame("Event.wait", "/usr/lib/python3.11/threading.py")): 500,
    }
    path = tmp_path / "web-1.folded"
    path.write_text("".join(f"{';'.join(stack)} {n}\n" for stack, n in lines.items()))

    share = tracingprofile.otel_share([path])

    assert share == {
        "all": 20.0,  # 6 + 4 + 10 of 100 busy samples
        "opentelemetry/sdk/_shared_internal": 10.0,
        "opentelemetry/instrumentation/psycopg": 6.0,
        "opentelemetry/sdk/trace": 4.0,
    }


def rounds(mode: str, *rps: float) -> list[dict]:
    return [
        {"mode": mode, "round": n + 1, "rps": r, "p50_ms": 1, "p99_ms": 2, "server_cpu_ms_per_request": 10}
        for n, r in enumerate(rps)
    ]


def test_a_variants_ratio_is_paired_within_each_round_and_reported():
    out = {
        "modes": ["off", "on", "sampled", "noredis"],
        "api_rounds": [
            *rounds("off", 100, 80, 120),
            *rounds("on", 85, 72, 96),
            *rounds("sampled", 95, 76, 114),
            *rounds("noredis", 90, 64, 108),
        ],
        "latency_rounds": [],
    }
    out["api_rounds"][3]["spans_exported"] = 1  # summarise insists that "on" exported spans
    for r in out["api_rounds"]:
        r.setdefault("spans_exported", 1)

    t = tracing.summarise(out)

    assert t["api_ratio_on"]["values"] == [0.85, 0.9, 0.8]
    assert t["api_ratio_noredis"]["values"] == [0.9, 0.8, 0.9]
    summary, met = tracing.summary_keys(t)
    assert summary["tracing_api_ratio"] == 0.85
    assert summary["tracing_api_ratio_noredis"] == 0.9
    assert met == {"tracing_api_ratio>=0.85": True}
