import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from orders.events import OrderCancelled, OrderPlaced
from pizzeria.eventbus import registry
from pizzeria.eventbus.testing import capture_events
from pizzeria.integrations.models import WebhookSubscription
from tests.factories import advance_order, make_order

pytestmark = pytest.mark.django_db

PLACED = "integrations.webhooks.OrderPlaced"


class Subscriber:
    """A local HTTP endpoint that records requests and answers with scripted status codes."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append({"headers": self.headers, "body": body})  # case-insensitive
                status = outer.script.pop(0) if outer.script else 202
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def subscriber():
    sub = Subscriber()
    yield sub
    sub.close()


def test_every_public_event_type_has_a_webhook_handler_on_the_integrations_queue():
    for event_class in (OrderPlaced, OrderCancelled):
        names = {spec.name: spec.queue for spec in registry.handlers_for(event_class.type)}
        assert names[f"integrations.webhooks.{event_class.__name__}"] == "integrations"
    assert not any(s.name.startswith("integrations.") for s in registry.handlers_for("com.mariopizzeria.test.probe"))


def test_order_placed_is_posted_as_a_signed_structured_cloudevent(subscriber):
    WebhookSubscription.objects.create(name="crm", url=subscriber.url, secret="s3cret")

    with capture_events(only=[PLACED]) as captured:
        order = make_order()

    [request] = subscriber.requests
    assert request["headers"]["Content-Type"] == "application/cloudevents+json"
    expected = "sha256=" + hmac.new(b"s3cret", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Pizzeria-Signature"] == expected
    ce = json.loads(request["body"])
    event = captured.of_type(OrderPlaced)[0]
    assert ce["specversion"] == "1.0"
    assert ce["id"] == str(event.event_id)
    assert ce["type"] == "com.mariopizzeria.order.placed"
    assert ce["source"] == "mario-pizzeria/orders"
    assert ce["subject"] == f"order/{order.pk}"
    assert ce["data"]["order_id"] == order.pk
    assert ce["data"]["total_amount"] == "31.18"
    assert captured.deliveries(PLACED)[0].status == "succeeded"


def test_subscription_filters_by_event_type(subscriber):
    WebhookSubscription.objects.create(
        name="refunds", url=subscriber.url, secret="x", event_types=["com.mariopizzeria.order.cancelled"]
    )

    with capture_events(only=[PLACED, "integrations.webhooks.OrderCancelled"]):
        order = make_order()
        advance_order(order, "cancelled")

    assert [json.loads(r["body"])["type"] for r in subscriber.requests] == ["com.mariopizzeria.order.cancelled"]


def test_subscriber_5xx_retries_and_4xx_is_dead(subscriber):
    WebhookSubscription.objects.create(name="flaky", url=subscriber.url, secret="x")
    subscriber.script = [503]
    with capture_events(only=[PLACED]) as captured:
        make_order()
    retrying = captured.deliveries(PLACED)[0]
    assert retrying.status == "retrying"
    assert "HTTP 503" in retrying.last_error

    subscriber.script = [410]
    with capture_events(only=[PLACED]) as captured:
        make_order()
    dead = captured.deliveries(PLACED)[0]
    assert dead.status == "dead"
    assert dead.last_error_class == "pizzeria.eventbus.errors.PermanentError"


def test_unreachable_subscriber_is_transient():
    WebhookSubscription.objects.create(name="gone", url="http://127.0.0.1:9/hook", secret="x")
    with capture_events(only=[PLACED]) as captured:
        make_order()
    assert captured.deliveries(PLACED)[0].status == "retrying"


def test_inactive_subscription_gets_nothing(subscriber):
    WebhookSubscription.objects.create(name="off", url=subscriber.url, secret="x", active=False)
    with capture_events(only=[PLACED]):
        make_order()
    assert subscriber.requests == []
