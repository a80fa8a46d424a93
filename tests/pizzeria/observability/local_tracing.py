"""Tracing switched on inside the test process, spans kept in memory (no global provider is set:
the SDK allows one per process, and the other tests run with tracing off)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pizzeria.observability import tracing


@pytest.fixture
def spans(monkeypatch) -> Iterator[InMemorySpanExporter]:
    """tracing.enabled() is True and the bus's spans go to the returned exporter."""
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "ENABLED", True)
    monkeypatch.setattr(tracing, "tracer", lambda: provider.get_tracer("test"))
    yield exporter
    provider.shutdown()
