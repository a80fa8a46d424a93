"""One trace per order across every process, whoever sends the delivery messages.

A real web process (gunicorn) and a real worker subprocess (prefork, embedded beat running the
sweeper) export OTLP/HTTP to a receiver this test runs. Order A is placed with the broker up (its
deliveries go out on commit); order B while the broker is down (every delivery waits for the
sweeper, which sends them once the broker is back), and B's webhook receiver answers 503 once
(the worker's retry). Each order must be one trace: request → outbox write → each delivery's task
→ its attempt span → the webhook's outgoing request, the parents right.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token

from eventbus.models import Delivery, DeliveryAttempt, OutboxEvent
from orders.events import OrderPlaced
from tests.factories import make_customer, make_menu
from tests.integrations.helpers import subscribe
from tests.integrations.receiver import Answer, Receiver
from tests.pizzeria.observability.otlp import OtlpReceiver, Span, tree
from tests.polling import wait_until
from tests.worker import (
    app_broker,
    free_port,
    make_worker,
    private_redis,
    redis_broker_only,
    worker_database_url,
)

pytestmark = [pytest.mark.worker, pytest.mark.faults]

ROOT = Path(__file__).resolve().parents[3]


class Web:
    """gunicorn serving pizzeria.wsgi (one worker process), stopped by its pid's process group."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (
            open(ROOT / ".run" / f"test-tracing-web-{self.port}.log", "wb")  # noqa: SIM115 - closed in stop()
            if (ROOT / ".run").is_dir()
            else subprocess.DEVNULL
        )
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.proc = subprocess.Popen(
            [
                gunicorn,
                "pizzeria.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def healthy() -> bool:
            assert self.proc.poll() is None, "gunicorn exited"
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
            return False

        wait_until(healthy, timeout=60, message="gunicorn to answer /healthz")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if not isinstance(self.log, int):  # an open file, not subprocess.DEVNULL
            self.log.close()


def place_order(web: Web, token: str, pizza_id: int) -> int:
    response = requests.post(
        f"{web.url}/api/orders/",
        json={
            "items": [{"pizza": pizza_id, "size": "large", "toppings": ["mushrooms"], "quantity": 1}],
            "fulfilment": "delivery",
            "delivery_address": "12 Via Roma, Springfield",
        },
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def order_placed(order_id: int) -> OutboxEvent:
    return OutboxEvent.objects.get(aggregate_type="order", aggregate_id=str(order_id), type=OrderPlaced.type)


def all_succeeded(event: OutboxEvent) -> bool:
    statuses = set(Delivery.objects.filter(event=event).values_list("status", flat=True))
    return statuses == {"succeeded"}


def check_one_trace(otlp: OtlpReceiver, event: OutboxEvent, *, order_id: int) -> tuple[str, list[Span]]:
    """Assert the order's trace and return (trace_id, its spans)."""
    assert event.traceparent is not None, "the outbox row kept no trace context"
    trace_id, outbox_span_id = event.traceparent.split("-")[1:3]
    deliveries = list(Delivery.objects.filter(event=event))
    expected_attempts = {(d.handler, n) for d in deliveries for n in range(1, d.attempts + 1)}

    def complete():
        spans = [s for s in otlp.snapshot() if s.trace_id == trace_id]
        seen = {
            (s.attributes.get("pizzeria.handler"), s.attributes.get("pizzeria.delivery.attempt"))
            for s in spans
            if s.attributes.get("pizzeria.event.id") == str(event.event_id)
        }
        ids = {s.span_id for s in spans}
        # one tree: every span but the request's has its parent in the trace (spans of events the
        # handlers record in turn, e.g. OrderCookingStarted, hang below the attempt that recorded them)
        connected = sum(1 for s in spans if s.parent_id not in ids) == 1
        return (
            spans
            if expected_attempts <= seen and connected and any(s.kind == "server" for s in spans)
            else None
        )

    try:
        spans = wait_until(complete, timeout=20, message="every attempt's span to reach the receiver")
    except AssertionError:
        raise AssertionError(f"incomplete trace:\n{tree(otlp.snapshot(), trace_id)}") from None
    outline = tree(spans, trace_id)
    by_id = {s.span_id: s for s in spans}

    # The API request is the root, in the web process; the outbox write is inside it.
    (request,) = [s for s in spans if s.kind == "server"]
    assert request.service == "pizzeria-web" and request.parent_id == "", outline
    assert (request.name, request.attributes.get("http.status_code")) == ("POST api/orders/", 201), request
    outbox = by_id[outbox_span_id]
    assert outbox.name == "outbox write" and outbox.service == "pizzeria-web", outline
    assert outbox.parent_id == request.span_id, outline

    # Every attempt: its task span (the worker's, parented by the message's traceparent, which
    # came from the outbox row whoever sent it) is a child of the outbox write.
    attempts = [s for s in spans if s.attributes.get("pizzeria.event.id") == str(event.event_id)]
    assert all(
        s.name == f"deliver {s.attributes['pizzeria.handler']}" and s.kind == "consumer" for s in attempts
    )
    assert {
        (s.attributes["pizzeria.handler"], s.attributes["pizzeria.delivery.attempt"]) for s in attempts
    } == expected_attempts
    for s in attempts:
        task = by_id[s.parent_id]
        assert task.name == "run/eventbus.run_delivery" and task.kind == "consumer", outline
        assert task.service.startswith("pizzeria-worker-"), task.service
        assert task.parent_id == outbox.span_id, outline
        assert s.attributes["pizzeria.delivery.wait_ms"] >= 0
        assert s.attributes["messaging.destination.name"], s.attributes
    for d in deliveries:
        logged = dict(DeliveryAttempt.objects.filter(delivery=d).values_list("number", "outcome"))
        for s in attempts:
            if s.attributes["pizzeria.handler"] == d.handler:
                outcome = s.attributes["pizzeria.delivery.outcome"]
                assert outcome == (
                    "succeeded"
                    if logged[s.attributes["pizzeria.delivery.attempt"]] == "succeeded"
                    else "retrying"
                )
                assert (s.status_code == 2) == (outcome != "succeeded"), outline
    assert not [s for s in spans if s.trace_id == trace_id and s.name.startswith("run/eventbus.sweep")]
    return trace_id, spans


@redis_broker_only
@pytest.mark.django_db(transaction=True)
def test_one_trace_per_order_across_web_worker_retry_and_sweeper():
    otlp = OtlpReceiver()
    webhook = Receiver()
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    trace_env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: spans reach the receiver quickly
        "OTEL_PYTHON_DJANGO_EXCLUDED_URLS": "healthz",
    }
    menu = make_menu()
    customer = make_customer()
    token = Token.objects.create(user=customer.user).key
    sub, _ = subscribe(webhook.url, name="tracing", event_types=[OrderPlaced.type], content_mode="structured")
    pizza = menu["pizzas"]["Margherita"].pk
    env = {
        **trace_env,
        "DJANGO_SETTINGS_MODULE": "pizzeria.settings.test",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": url,
        "CELERY_BROKER_URL": url,
    }
    web = worker = None
    with app_broker(url), private_redis(port) as broker:
        try:
            worker = make_worker(env=env).start()
            web = Web(env)

            # Order A, broker up: its deliveries are published on commit.
            order_a = place_order(web, token, pizza)
            event_a = order_placed(order_a)
            wait_until(lambda: all_succeeded(event_a), timeout=30, message="order A's deliveries to succeed")
            trace_a, spans_a = check_one_trace(otlp, event_a, order_id=order_a)

            # Order B: the broker is down when it commits; its webhook receiver fails once.
            broker.terminate()
            broker.wait(timeout=10)
            webhook.answer(Answer(503, body=b"try again"))
            order_b = place_order(web, token, pizza)
            event_b = order_placed(order_b)
            stranded = Delivery.objects.filter(event=event_b)
            assert stranded.count() >= 5 and not stranded.filter(enqueued_at__isnull=False).exists()
            with private_redis(port):
                wait_until(
                    lambda: all_succeeded(event_b),
                    timeout=60,
                    message="order B's deliveries after the outage",
                )
                trace_b, spans_b = check_one_trace(otlp, event_b, order_id=order_b)
        finally:
            if web is not None:
                web.stop()
            if worker is not None:
                worker.stop()
            webhook.close()
            otlp.close()

    assert trace_a != trace_b
    print(f"\norder B's trace {trace_b}:\n{tree(spans_b, trace_b)}")

    # B's webhook: attempt 1 answered 503 (an error span, a retry), attempt 2 succeeded (204); each
    # attempt's outgoing POST is a CLIENT span under it, and the receiver got its traceparent.
    hook_attempts = sorted(
        (s for s in spans_b if s.attributes.get("pizzeria.handler") == sub.handler_name),
        key=lambda s: s.attributes["pizzeria.delivery.attempt"],
    )
    assert [s.attributes["pizzeria.delivery.outcome"] for s in hook_attempts] == ["retrying", "succeeded"]
    posts = [s for s in spans_b if s.name == "POST webhook"]
    assert sorted((p.parent_id, p.attributes["http.response.status_code"]) for p in posts) == sorted(
        [(hook_attempts[0].span_id, 503), (hook_attempts[1].span_id, 204)]
    )
    assert all(p.kind == "client" for p in posts)
    b_requests = [r for r in webhook.requests if json.loads(r.body)["id"] == str(event_b.event_id)]
    assert len(b_requests) == 2
    for received in b_requests:
        trace_id, span_id = received.headers["traceparent"].split("-")[1:3]
        assert trace_id == trace_b and span_id in {p.span_id for p in posts}
        # the CloudEvent's Distributed Tracing extension: where the event was recorded
        assert json.loads(received.body)["traceparent"] == event_b.traceparent
