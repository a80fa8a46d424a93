"""LOG_FORMAT chooses JSON lines or readable lines; both mask contacts and carry the bound ids."""

import io
import json
import logging
import logging.config

import pytest
from django.core.exceptions import ImproperlyConfigured

from pizzeria.observability import context, tracing
from pizzeria.observability.logs import logging_config
from tests.pizzeria.observability.local_tracing import spans  # noqa: F401 (fixture)


def _emit(log_format: str, message: str, *args) -> str:
    config = logging_config(log_format=log_format, level="INFO", process_tag="[worker_kitchen] ")
    buffer = io.StringIO()
    handler_cfg = config["handlers"]["console"]
    handler = logging.StreamHandler(buffer)
    for name in handler_cfg["filters"]:
        spec = dict(config["filters"][name])
        handler.addFilter(logging.config.DictConfigurator({}).configure_custom(spec))
    fmt = dict(config["formatters"]["plain"])
    formatter = (
        logging.config.DictConfigurator({}).configure_custom(fmt)
        if "()" in fmt
        else logging.Formatter(fmt["format"])
    )
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.ops.logs.{log_format}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _clean_context():
    context.clear()
    yield
    context.clear()


def test_json_lines_carry_the_context_the_process_tag_and_mask_contacts():
    context.bind(
        event_id="e-1", delivery_id=7, handler="h.sms", attempt=2, order_id=42, request_id="req-12345678"
    )

    line = _emit("json", "texting %s", "+15005550006")

    record = json.loads(line)
    assert record["message"] != "texting +15005550006" and "0006" not in record["message"]
    assert (
        record["event_id"],
        record["delivery_id"],
        record["handler"],
        record["attempt"],
        record["order_id"],
    ) == (
        "e-1",
        7,
        "h.sms",
        2,
        42,
    )
    assert record["request_id"] == "req-12345678" and record["proc"] == "worker_kitchen"
    assert record["level"] == "WARNING" and "context" not in record


def test_console_lines_stay_readable_with_the_ids_appended():
    context.bind(event_id="e-1", delivery_id=7)
    line = _emit("console", "hello")
    assert "[worker_kitchen] WARNING test.ops.logs.console hello [event_id=e-1 delivery_id=7]" in line
    context.clear()
    assert _emit("console", "plain").rstrip().endswith("plain")


def test_under_tracing_each_line_carries_the_current_trace_and_span_ids(spans):  # noqa: F811
    context.bind(request_id="req-12345678")
    assert "trace_id" not in json.loads(_emit("json", "outside a span"))
    with tracing.tracer().start_as_current_span("work") as span:
        record = json.loads(_emit("json", "inside"))
        console = _emit("console", "inside")
    ids = span.get_span_context()
    assert (record["trace_id"], record["span_id"]) == (f"{ids.trace_id:032x}", f"{ids.span_id:016x}")
    assert record["request_id"] == "req-12345678"
    assert f"[request_id=req-12345678 trace_id={ids.trace_id:032x}]" in console


def test_with_tracing_off_no_trace_fields():
    assert not tracing.enabled()
    assert "trace_id" not in json.loads(_emit("json", "plain"))


def test_an_unknown_format_stops_the_process_with_its_name():
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        logging_config(log_format="xml", level="INFO", process_tag="")


@pytest.mark.django_db
def test_the_api_answers_with_a_request_id_and_keeps_a_sane_one_from_the_proxy(client):
    fresh = client.get("/healthz")["X-Request-ID"]
    assert len(fresh) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="proxy-abc-12345")["X-Request-ID"] == "proxy-abc-12345"
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="<script>alert(1)</script>")["X-Request-ID"]
    assert forged != "<script>alert(1)</script>" and len(forged) == 32
