"""When a process traces, and under which service name (the OpenTelemetry variables decide)."""

import pytest

from pizzeria.ops import tracing


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
    assert tracing.service_name_for_worker(["notifications", "analytics"]) == "pizzeria-worker-notifications+analytics"
    assert tracing.service_name_for_worker(None) == "pizzeria-worker-all"


def test_setup_does_nothing_when_off(monkeypatch):
    monkeypatch.setattr(tracing, "ENABLED", False)
    assert tracing.setup("pizzeria-web") is False
    assert tracing._configured_pid is None
    assert tracing.current_traceparent() is None and tracing.log_ids() == {}
