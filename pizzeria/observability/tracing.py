"""OpenTelemetry traces, configured the OpenTelemetry way: off unless the environment asks.

On when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or an
OTEL_TRACES_EXPORTER other than "none") is set and OTEL_SDK_DISABLED is not true. Off, nothing is
imported from the SDK, no instrumentation patches anything and no Celery signal receiver is
connected: the code paths ask `enabled()` (a module constant) and go on as before, so the
publishing fast path (eventbus/wire.py) stays in use.

One set-up per process, after any fork: the web in pizzeria/wsgi.py and asgi.py (gunicorn imports
them in each worker process), a Celery worker's pool processes on worker_process_init (the
SDK's batch processor starts its export thread in the process that will use it), the solo/threads
pool and beat on their own init signals. Service names: pizzeria-web, pizzeria-worker-<queues>,
pizzeria-beat; OTEL_SERVICE_NAME overrides. Sampling, batch sizes, headers and timeouts are the
SDK's own OTEL_* variables (docs/tracing.md).

The delivery link does not use Celery's header propagation: the outbox row keeps the recording
transaction's traceparent and every message for the delivery carries it (eventbus/spans.py).
So the Celery instrumentation is installed for its consumer side only (one span per task run,
parented on the message's traceparent); its publish receivers are disconnected, which would
otherwise make wire.py step aside and cost every order request apply_async's bookkeeping.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from celery import signals
from django.conf import settings

logger = logging.getLogger(__name__)


def _env_enabled(environ: dict[str, str] | os._Environ = os.environ) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = [e.strip().lower() for e in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()]
    if exporters:
        return exporters != ["none"]
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


# A process decides at start whether it traces (the OpenTelemetry variables are process
# configuration, like DATABASE_URL); setup() asks again once .env has been read.
ENABLED = _env_enabled()
_configured_pid: int | None = None
_service_name = "pizzeria"
_tracer: Any = None  # this process's, once set up: get_tracer() builds a new Tracer per call


def enabled() -> bool:
    return ENABLED


def service_name_for_worker(queues: Any) -> str:
    """pizzeria-worker-<queue> (queues joined by '+' when a worker consumes several)."""
    if isinstance(queues, str):
        names = [q.strip() for q in queues.split(",") if q.strip()]
    else:
        names = [getattr(q, "name", q) for q in (queues or ())]
    return f"pizzeria-worker-{'+'.join(names) if names else 'all'}"


def setup(service_name: str) -> bool:
    """Install the tracer provider and the instrumentations in this process, once (per pid).

    Returns whether tracing is on. Never raises: a tracing problem must not stop the process.
    """
    global ENABLED, _configured_pid, _service_name
    # Asked again now that the settings are loaded: they read .env into the environment.
    with contextlib.suppress(Exception):
        settings.INSTALLED_APPS  # noqa: B018 (loads the settings module)
    ENABLED = _env_enabled()
    if not ENABLED:
        return False
    if _configured_pid == os.getpid():
        return True
    _service_name = service_name
    try:
        _install(service_name)
    except Exception:
        logger.exception("OpenTelemetry set-up failed; this process runs without tracing")
        return False
    _configured_pid = os.getpid()
    return True


def _install(service_name: str) -> None:
    global _tracer
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
    # The sampler comes from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (the SDK reads them).
    provider = TracerProvider(resource=Resource.create(attributes))
    exporters = [
        e.strip().lower() for e in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if e.strip()
    ]
    for name in exporters:
        if name == "otlp":
            # OpenTelemetry is loaded only with tracing on (module docstring)
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
                "OTEL_EXPORTER_OTLP_PROTOCOL"
            )
            if protocol and protocol != "http/protobuf":
                logger.warning(
                    "OTLP protocol %r is not installed here; exporting with http/protobuf", protocol
                )
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif name == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        elif name != "none":
            logger.warning("OTEL_TRACES_EXPORTER %r is not supported here (otlp, console, none)", name)
    trace.set_tracer_provider(provider)
    # From the process's provider (the first one set, as the instrumentations use), built once.
    _tracer = trace.get_tracer("pizzeria")
    # Probes and scrapes are not orders: untraced unless the operator lists other paths.
    os.environ.setdefault("OTEL_PYTHON_DJANGO_EXCLUDED_URLS", "healthz,readyz,metrics")
    _instrument_libraries()
    logger.info("OpenTelemetry tracing on for %s", service_name)


INSTRUMENTATIONS = ("django", "psycopg", "redis", "requests", "celery")


def disabled_instrumentations(environ: dict[str, str] | os._Environ = os.environ) -> set[str]:
    """OTEL_PYTHON_DISABLED_INSTRUMENTATIONS (the auto-instrumentation's variable): e.g. "redis"
    leaves Redis commands out of the traces, for fewer spans per request."""
    return {
        n.strip().lower()
        for n in environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")
        if n.strip()
    }


def _instrument_libraries() -> None:
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    disabled = disabled_instrumentations()
    classes: dict[str, Any] = {
        "django": DjangoInstrumentor,
        "psycopg": PsycopgInstrumentor,
        "redis": RedisInstrumentor,
        "requests": RequestsInstrumentor,
    }
    for name, cls in classes.items():
        instrumentor = cls()
        if name not in disabled and not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
    celery = CeleryInstrumentor()
    if "celery" not in disabled and not celery.is_instrumented_by_opentelemetry:
        celery.instrument()
        _celery_consumer_side_only(celery)


def _celery_consumer_side_only(instrumentor: Any) -> None:
    """Disconnect the instrumentation's publish receivers (see the module docstring for why)."""
    signals.before_task_publish.disconnect(instrumentor._trace_before_publish)
    signals.after_task_publish.disconnect(instrumentor._trace_after_publish)


def shutdown() -> None:
    """Flush what is batched (a process that exits: prefork child, management command)."""
    if _configured_pid != os.getpid():
        return
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry import trace

    shutdown_provider = getattr(trace.get_tracer_provider(), "shutdown", None)  # the SDK's, not the API's
    if shutdown_provider is not None:
        with contextlib.suppress(Exception):
            shutdown_provider()


def tracer() -> Any:
    if _tracer is not None:
        return _tracer
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry import trace

    return trace.get_tracer("pizzeria")


# --- W3C trace context as plain strings ------------------------------------------------------


def current_traceparent() -> tuple[str, str] | None:
    """(traceparent, tracestate) of the current span, or None (off, or nothing sampled here)."""
    if not ENABLED:
        return None
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format_traceparent(span_context), span_context.trace_state.to_header()


def format_traceparent(span_context: Any) -> str:
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{int(span_context.trace_flags):02x}"


def context_from(traceparent: str | None, tracestate: str | None = None) -> Any:
    """An OpenTelemetry Context whose remote parent is traceparent; None when absent or malformed."""
    if not ENABLED or not traceparent:
        return None
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    ctx = TraceContextTextMapPropagator().extract(carrier)
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def log_ids() -> dict[str, str]:
    """trace_id and span_id of the current span for a log record ({} when off or none)."""
    if not ENABLED:
        return {}
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return {}
    return {"trace_id": f"{span_context.trace_id:032x}", "span_id": f"{span_context.span_id:016x}"}


# --- provider calls ---------------------------------------------------------------------------


@contextlib.contextmanager
def client_span(name: str, *, method: str, url: str, provider: str) -> Iterator[Any]:
    """A CLIENT span around an outgoing HTTP call the instrumentations do not see (urllib3
    connections used directly by the webhooks, urllib inside the SendGrid SDK). Yields the span,
    or None when tracing is off; record the answer with `http_status`."""
    if not ENABLED:
        yield None
        return
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry import trace

    parts = urlsplit(url)
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.full": parts._replace(query="", fragment="").geturl(),  # no query: tokens live there
        "server.address": parts.hostname or "",
        "pizzeria.provider": provider,
    }
    if parts.port:
        attributes["server.port"] = parts.port
    with tracer().start_as_current_span(name, kind=trace.SpanKind.CLIENT, attributes=attributes) as span:
        yield span


def http_status(span: Any, status: int) -> None:
    """Record an HTTP answer on a client span: 4xx and 5xx are errors of a client call."""
    if span is None:
        return
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("http.response.status_code", status)
    if status >= 400:
        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))


def inject_headers(headers: dict[str, str]) -> None:
    """Add the current span's traceparent (and tracestate) to outgoing HTTP headers."""
    if not ENABLED:
        return
    # OpenTelemetry is loaded only with tracing on (module docstring)
    from opentelemetry.propagate import inject

    inject(headers)


# --- Celery process hooks ---------------------------------------------------------------------


def connect_celery_signals() -> None:
    """Set up in each Celery process that runs tasks or schedules them. These signals come once
    per process, never per task: connected even when off (setup() decides, after .env is read)."""
    signals.celeryd_init.connect(
        _on_celeryd_init, weak=False, dispatch_uid="observability.tracing.celeryd_init"
    )
    signals.worker_process_init.connect(
        _on_process_init, weak=False, dispatch_uid="observability.tracing.process_init"
    )
    signals.worker_init.connect(_on_worker_init, weak=False, dispatch_uid="observability.tracing.worker_init")
    signals.worker_process_shutdown.connect(
        lambda **kw: shutdown(), weak=False, dispatch_uid="observability.tracing.shutdown"
    )
    signals.beat_init.connect(
        lambda **kw: setup("pizzeria-beat"), weak=False, dispatch_uid="observability.tracing.beat"
    )
    signals.beat_embedded_init.connect(
        lambda **kw: setup("pizzeria-beat"), weak=False, dispatch_uid="observability.tracing.beat_embedded"
    )


def _on_celeryd_init(
    sender: Any = None, instance: Any = None, conf: Any = None, options: Any = None, **kwargs: Any
) -> None:
    global _service_name
    _service_name = service_name_for_worker((options or {}).get("queues"))


def _on_process_init(**kwargs: Any) -> None:
    setup(_service_name)


def _on_worker_init(sender: Any = None, **kwargs: Any) -> None:
    # solo and threads pools run tasks in this process: no worker_process_init comes. A prefork
    # worker's main process only moves messages: not traced (its pool processes are). At this
    # signal pool_cls is still what was asked for ("prefork"), resolved to a class only later.
    pool = getattr(sender, "pool_cls", None)
    name = pool if isinstance(pool, str) else f"{getattr(pool, '__module__', '')}"
    if "prefork" not in name:
        setup(_service_name)
