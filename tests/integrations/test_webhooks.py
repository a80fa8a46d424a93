"""One delivery per (event, subscription): modes, signatures, outcomes, history and deactivation."""

import datetime as dt
import json

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from django.conf import settings
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from eventbus.models import Delivery, OutboxEvent
from eventbus.schema import schema_errors, validator_for
from integrations.catalogue import public_data_schema
from integrations.events import WebhookSubscriptionDeactivated
from integrations.services import subscription_deactivate
from notifications.models import Notification
from orders.events import OrderPlaced
from tests.capture import capture_events
from tests.factories import make_order
from tests.integrations.helpers import deliveries_of, reload, run_now, subscribe
from tests.integrations.receiver import Answer

pytestmark = pytest.mark.django_db


def parse(request):
    return from_http(HTTPMessage(headers=request.headers, body=request.body), JSONFormat())


@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_each_mode_parses_with_the_sdk_and_verifies_with_standardwebhooks(receiver, mode):
    sub, secret = subscribe(receiver.url, content_mode=mode)

    with capture_events(only=[sub.handler_name]) as captured:
        order = make_order()

    [request] = receiver.requests
    event = captured.of_type(OrderPlaced)[0]
    if mode == "structured":
        assert request.headers["content-type"] == "application/cloudevents+json"
        assert "ce-id" not in request.headers
    else:
        assert request.headers["content-type"] == "application/json"
        assert request.headers["ce-id"] == str(event.event_id)
    ce = parse(request)
    assert ce.get_id() == str(event.event_id)
    assert ce.get_type() == "com.mariopizzeria.order.placed"
    assert ce.get_source() == "mario-pizzeria/orders"
    assert ce.get_subject() == f"order/{order.pk}"
    assert ce.get_data()["order_id"] == order.pk
    assert ce.get_data()["total_amount"] == "31.18"
    # The published contract holds for what was actually sent.
    assert schema_errors(validator_for(public_data_schema(OrderPlaced)), ce.get_data()) is None
    # Standard Webhooks: id = event id, and the library verifies the signature.
    assert request.headers["webhook-id"] == str(event.event_id)
    Webhook(secret).verify(request.body, request.headers, json_parse=False)
    [delivery] = captured.deliveries(sub.handler_name)
    assert delivery.status == "succeeded"
    [attempt] = delivery.attempt_log.all()
    assert attempt.detail["status"] == 204 and attempt.detail["duration_ms"] >= 0


def test_a_replayed_request_with_an_old_timestamp_is_rejected_and_a_tampered_one_too(receiver):
    sub, secret = subscribe(receiver.url)
    with capture_events(only=[sub.handler_name]):
        make_order()
    [request] = receiver.requests
    webhook = Webhook(secret)

    replayed = {**request.headers, "webhook-timestamp": str(int(request.headers["webhook-timestamp"]) - 600)}
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhook.verify(request.body, replayed, json_parse=False)
    # Re-signing needs the secret: an attacker with a fresh timestamp but the old signature fails.
    fresh = {**request.headers, "webhook-timestamp": str(int(timezone.now().timestamp()))}
    if fresh["webhook-timestamp"] != request.headers["webhook-timestamp"]:
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            webhook.verify(request.body, fresh, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        webhook.verify(request.body.replace(b"31.18", b"1.00"), request.headers, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(request.body, request.headers, json_parse=False)


def test_one_delivery_per_subscription_and_a_down_one_does_not_touch_the_healthy_one(receiver):
    healthy, _ = subscribe(receiver.url, name="healthy")
    down, _ = subscribe("http://127.0.0.1:9/hook", name="down")  # nothing listens on port 9

    with capture_events(only=[healthy.handler_name, down.handler_name]):
        make_order()
        make_order()

    assert receiver.count() == 2
    assert [d.status for d in deliveries_of(healthy)] == ["succeeded", "succeeded"]
    assert [d.attempts for d in deliveries_of(healthy)] == [1, 1]
    assert [d.status for d in deliveries_of(down)] == ["retrying", "retrying"]
    # The down one retrying again sends nothing more to the healthy one.
    for delivery in deliveries_of(down):
        run_now(delivery)
    assert receiver.count() == 2
    assert [d.status for d in deliveries_of(down)] == ["retrying", "retrying"]
    # 3 failures (the test threshold) open its breaker: the 4th run is postponed, not spent.
    assert sum(d.attempts for d in deliveries_of(down)) == 3
    assert reload(down).circuit_status() == "open"
    assert reload(healthy).circuit_status() == "closed"


def test_503_retries_with_the_bus_backoff_and_logs_status_and_body(receiver):
    sub, _ = subscribe(receiver.url)
    receiver.answer(Answer(503, body=b"maintenance " * 200), Answer(200, body=b"ok"))

    with capture_events(only=[sub.handler_name]):
        make_order()

    [delivery] = deliveries_of(sub)
    assert delivery.status == "retrying"
    assert "HTTP 503" in delivery.last_error
    [failed] = delivery.attempt_log.all()
    assert failed.retry_at is not None and failed.retry_at >= failed.started_at
    assert failed.detail["status"] == 503
    assert failed.detail["body"].startswith("maintenance")
    assert len(failed.detail["body"].encode()) == 1024  # the first 1 KB, not the 2.4 KB answer

    assert run_now(delivery) == "succeeded"
    assert receiver.count() == 2
    assert [a.detail["status"] for a in reload(delivery).attempt_log.all()] == [503, 200]


def test_400_is_dead_at_once(receiver):
    sub, _ = subscribe(receiver.url)
    receiver.answer(Answer(400, body=b'{"error":"unknown field"}'))

    with capture_events(only=[sub.handler_name]):
        make_order()

    [delivery] = deliveries_of(sub)
    assert delivery.status == "dead"
    assert delivery.attempts == 1
    assert delivery.last_error_class == "eventbus.errors.PermanentError"
    assert delivery.attempt_log.get().detail["body"] == '{"error":"unknown field"}'


def test_410_deactivates_the_subscription_discards_its_waiting_deliveries_and_tells_the_manager(receiver):
    sub, _ = subscribe(receiver.url)
    receiver.answer(Answer(503), Answer(410))
    with capture_events(only=[sub.handler_name]):
        make_order()  # 503: waits for a retry
    mail = "notifications.handlers.email_webhook_deactivated"
    with capture_events(only=[sub.handler_name, mail]) as captured:
        make_order()  # 410

    sub = reload(sub)
    assert sub.active is False
    assert "410" in sub.deactivated_reason
    first, second = deliveries_of(sub)
    assert second.status == "dead"
    assert first.status == "discarded"
    [gone] = captured.of_type(WebhookSubscriptionDeactivated)
    assert gone.subscription_id == sub.pk
    assert Delivery.objects.get(event_id=gone.event_id, handler=mail).status == "succeeded"
    [notice] = Notification.objects.filter(template="webhook_deactivated")
    assert notice.recipient == settings.MANAGER_EMAIL
    assert sub.name in notice.subject and "410 Gone" in notice.body
    # Nothing more is sent to it.
    with capture_events(only=[sub.handler_name]):
        make_order()
    assert receiver.count() == 2


def test_429_retry_after_is_respected(receiver):
    sub, _ = subscribe(receiver.url)
    receiver.answer(Answer(429, headers={"Retry-After": "120"}))

    with capture_events(only=[sub.handler_name]):
        make_order()

    [delivery] = deliveries_of(sub)
    [attempt] = delivery.attempt_log.all()
    assert delivery.status == "retrying"
    assert delivery.next_attempt_at >= attempt.started_at + dt.timedelta(seconds=120)
    assert attempt.detail["retry_after"] == 120.0


def test_history_is_not_sent_to_a_new_subscription(receiver):
    with capture_events():
        make_order()
    sub, _ = subscribe(receiver.url)

    assert deliveries_of(sub) == []
    assert OutboxEvent.objects.filter(type=OrderPlaced.type).count() == 1


def test_an_event_recorded_before_deactivation_is_not_sent(receiver):
    sub, _ = subscribe(receiver.url)
    with capture_events(run_handlers=False):
        make_order()
    [delivery] = deliveries_of(sub)

    # Deactivated by staff after the event was recorded, before its delivery ran.
    subscription_deactivate(subscription_id=sub.pk, reason="contract ended", actor="admin")
    assert reload(delivery).status == "discarded"
    Delivery.objects.filter(pk=delivery.pk).update(status="pending")  # even if it slipped through
    run_now(delivery)

    assert receiver.count() == 0
    assert reload(delivery).attempt_log.get().detail == {"sent": False, "reason": "subscription inactive"}


def test_a_subscription_gets_only_the_types_it_wants(receiver):
    sub, _ = subscribe(receiver.url, event_types=["com.mariopizzeria.order.cancelled"])
    from tests.factories import advance_order

    with capture_events(only=[sub.handler_name]):
        order = make_order()
        advance_order(order, "cancelled")

    assert [json.loads(r.body)["type"] for r in receiver.requests] == ["com.mariopizzeria.order.cancelled"]
    assert "cancelled_by" not in json.loads(receiver.requests[0].body)["data"]  # a username stays inside


def test_a_redirect_is_not_followed(receiver, receiver2):
    sub, _ = subscribe(receiver.url)
    receiver.answer(Answer(302, headers={"Location": receiver2.url}))

    with capture_events(only=[sub.handler_name]):
        make_order()

    [delivery] = deliveries_of(sub)
    assert delivery.status == "dead"
    assert "not followed" in delivery.last_error
    assert receiver2.count() == 0


def test_a_replayed_dead_delivery_is_sent_again_with_the_same_webhook_id(receiver):
    from eventbus.services import delivery_replay

    sub, secret = subscribe(receiver.url)
    receiver.answer(Answer(400))
    with capture_events(only=[sub.handler_name]):
        make_order()
    [delivery] = deliveries_of(sub)
    assert delivery.status == "dead"

    delivery_replay(deliveries=[delivery], actor="admin")
    assert run_now(delivery) == "succeeded"

    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    Webhook(secret).verify(second.body, second.headers, json_parse=False)
    assert [a.number for a in reload(delivery).attempt_log.all()] == [1, 2]


def test_the_delivery_admin_shows_each_attempts_http_status_and_answer(receiver, admin_client):
    sub, _ = subscribe(receiver.url)
    receiver.answer(Answer(503, body=b"back in five"))
    with capture_events(only=[sub.handler_name]):
        make_order()
    [delivery] = deliveries_of(sub)

    page = admin_client.get(f"/admin/eventbus/delivery/{delivery.pk}/change/").content.decode()

    assert "back in five" in page and "&quot;status&quot;: 503" in page
