"""When a process traces, and under which service name (the OpenTelemetry variables decide)."""

import pytest

from pizzeria.observability import tracing


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
    ],
)
def test_off_unless_the_environment_asks(environ, on):
    assert tracing._env_enabled(environ) is on


def test_worker_service_names_say_the_queues():
    assert tracing.service_name_for_worker("kitchen") == "pizzeria-worker-kitchen"
    assert (
        tracing.service_name_for_worker(["notifications", "analytics"])
        == "pizzeria-worker-notifications+analytics"
    )
    assert tracing.service_name_for_worker(None) == "pizzeria-worker-all"


def test_setup_does_nothing_when_off(monkeypatch):
    monkeypatch.setattr(tracing, "ENABLED", False)
    assert tracing.setup("pizzeria-web") is False
    assert tracing._configured_pid is None
    assert tracing.current_traceparent() is None and tracing.log_ids() == {}


@pytest.mark.parametrize(("pool", "traced"), [("prefork", False), ("solo", True), ("threads", True)])
def test_a_prefork_workers_main_process_is_not_traced_its_pool_processes_are(monkeypatch, pool, traced):
    # worker_init comes with pool_cls still the name asked for; prefork children set up on
    # worker_process_init instead (after the fork, so the batch processor's thread is theirs).
    calls = []
    monkeypatch.setattr(tracing, "setup", lambda name: calls.append(name))

    class Worker:
        pool_cls = pool

    tracing._on_worker_init(sender=Worker())
    tracing._on_process_init()

    assert len(calls) == (2 if traced else 1)


def test_the_collector_configuration_wires_every_pipeline_component():
    from pathlib import Path

    import yaml

    config = yaml.safe_load(
        (Path(__file__).resolve().parents[3] / "deploy" / "otel-collector.yaml").read_text()
    )
    (pipeline,) = config["service"]["pipelines"].values()
    for kind in ("receivers", "processors", "exporters"):
        assert set(pipeline[kind]) <= set(config[kind]), kind
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")


def test_setup_asks_again_after_the_settings_read_dot_env(monkeypatch):
    # The module read the environment at import, before settings/environment.py loaded .env into it.
    installed = []
    monkeypatch.setattr(tracing, "ENABLED", False)
    monkeypatch.setattr(tracing, "_configured_pid", None)
    monkeypatch.setattr(tracing, "_install", lambda name: installed.append(name))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")

    assert tracing.setup("pizzeria-web") is True
    assert tracing.setup("pizzeria-web") is True  # once per process
    assert installed == ["pizzeria-web"] and tracing.enabled()


def test_instrumentations_can_be_left_out_the_opentelemetry_way():
    assert tracing.disabled_instrumentations({}) == set()
    assert tracing.disabled_instrumentations(
        {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": " Redis, psycopg ,"}
    ) == {"redis", "psycopg"}
