"""POST /cloudevents/: payment.processed in both modes, signed, idempotent, clear 4xx."""

import datetime as dt
import json
import uuid

import pytest
from cloudevents.core.bindings.http import to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent
from django.conf import settings
from django.utils import timezone
from standardwebhooks import Webhook

from eventbus.models import OutboxEvent
from integrations.models import InboundCloudEvent
from orders.events import PaymentProcessed
from tests.capture import capture_events
from tests.factories import make_order
from tests.pizzeria.observability.local_tracing import spans  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

TYPE = "com.mariopizzeria.payment.processed"
SOURCE = "https://payments.example/psp"


def cloudevent(data, *, type_=TYPE, id_=None, source=SOURCE) -> CloudEvent:
    return CloudEvent(
        attributes={
            "id": id_ or str(uuid.uuid4()),
            "source": source,
            "type": type_,
            "datacontenttype": "application/json",
        },
        data=data,
    )


def post(client, message, *, secret=None, when=None, msg_id=None):
    secret = secret or settings.CLOUDEVENTS_INBOUND_SECRET
    when = when or timezone.now()
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    headers = {k: v for k, v in message.headers.items() if k.lower() != "content-type"}
    headers.update(
        {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, when, message.body.decode()),
        }
    )
    return client.post(
        "/cloudevents/", data=message.body, content_type=message.headers.get("content-type"), headers=headers
    )


def payment(order, **overrides):
    return {
        "order_id": order.pk,
        "amount": str(order.total_amount),
        "method": "card",
        "reference": "psp_123",
        **overrides,
    }


@pytest.mark.parametrize("encode", [to_structured_event, to_binary_event], ids=["structured", "binary"])
def test_a_signed_payment_in_either_mode_pays_the_order(client, encode):
    with capture_events(run_handlers=False) as captured:
        order = make_order()
        response = post(client, encode(cloudevent(payment(order))))

    assert response.status_code == 200, response.content
    assert response.json() == {"status": "processed", "order_id": order.pk, "payment_status": "paid"}
    order.refresh_from_db()
    assert order.status == "paid" and order.payment_reference == "psp_123"
    assert order.paid_by == f"cloudevents:{SOURCE}"
    [paid] = captured.of_type(PaymentProcessed)
    assert paid.amount == order.total_amount and paid.method == "card"


def test_the_same_event_twice_is_processed_once(client):
    with capture_events(run_handlers=False):
        order = make_order()
        event = cloudevent(payment(order))
        first = post(client, to_structured_event(event))
        again = post(client, to_binary_event(event))  # a retry, even in the other mode

    assert first.status_code == again.status_code == 200
    assert again.json()["duplicate"] is True
    assert InboundCloudEvent.objects.filter(event_id=event.get_id()).count() == 1
    assert OutboxEvent.objects.filter(type=PaymentProcessed.type, aggregate_id=str(order.pk)).count() == 1


def test_a_used_id_with_a_different_event_is_a_conflict(client):
    with capture_events(run_handlers=False):
        order = make_order()
        post(client, to_structured_event(cloudevent(payment(order), id_="evt-1")))
        response = post(
            client, to_structured_event(cloudevent(payment(order, reference="other"), id_="evt-1"))
        )

    assert response.status_code == 409
    assert response.json()["error"] == "id_reused"


def test_an_order_paid_already_is_a_conflict(client):
    with capture_events(run_handlers=False):
        order = make_order()
        post(client, to_structured_event(cloudevent(payment(order))))
        response = post(client, to_structured_event(cloudevent(payment(order))))  # a new id

    assert response.status_code == 409
    assert "already paid" in response.json()["reason"]


def test_an_amount_mismatch_is_422_with_a_reason(client):
    with capture_events(run_handlers=False):
        order = make_order()
        response = post(client, to_structured_event(cloudevent(payment(order, amount="1.00"))))

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "amount_mismatch"
    assert "1.00" in body["reason"] and str(order.total_amount) in body["reason"]
    order.refresh_from_db()
    assert order.payment_status == "unpaid"


def test_an_unknown_order_is_422(client):
    response = post(
        client,
        to_structured_event(
            cloudevent({"order_id": 999999, "amount": "1.00", "method": "card", "reference": "x"})
        ),
    )
    assert response.status_code == 422
    assert response.json()["error"] == "unknown_order"


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (lambda h, b: ({**h, "HTTP_WEBHOOK_SIGNATURE": "v1,AAAA"}, b), "No matching signature"),
        (
            lambda h, b: ({k: v for k, v in h.items() if k != "HTTP_WEBHOOK_SIGNATURE"}, b),
            "Missing required headers",
        ),
        (lambda h, b: (h, b.replace(b"psp_123", b"psp_999")), "No matching signature"),
        (lambda h, b: ({**h, "HTTP_WEBHOOK_SIGNATURE": "garbage"}, b), "Malformed"),
    ],
    ids=["wrong-signature", "no-signature", "tampered-body", "malformed-header"],
)
def test_a_bad_signature_is_401(client, tamper, reason):
    with capture_events(run_handlers=False):
        order = make_order()
    message = to_structured_event(cloudevent(payment(order)))
    when = timezone.now()
    headers = {
        "HTTP_WEBHOOK_ID": "msg_1",
        "HTTP_WEBHOOK_TIMESTAMP": str(int(when.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": Webhook(settings.CLOUDEVENTS_INBOUND_SECRET).sign(
            "msg_1", when, message.body.decode()
        ),
    }
    headers, body = tamper(headers, message.body)

    response = client.post("/cloudevents/", data=body, content_type="application/cloudevents+json", **headers)

    assert response.status_code == 401
    assert reason in response.json()["reason"]
    order.refresh_from_db()
    assert order.payment_status == "unpaid"


def test_a_replay_with_an_old_timestamp_is_401(client):
    with capture_events(run_handlers=False):
        order = make_order()
    response = post(
        client,
        to_structured_event(cloudevent(payment(order))),
        when=timezone.now() - dt.timedelta(minutes=10),
    )

    assert response.status_code == 401
    assert "too old" in response.json()["reason"]


def test_another_secret_is_401(client):
    response = post(client, to_structured_event(cloudevent({})), secret="whsec_" + "QUJD" * 8)
    assert response.status_code == 401


def test_an_unknown_type_is_400(client):
    response = post(client, to_structured_event(cloudevent({"x": 1}, type_="com.example.refund.issued")))

    assert response.status_code == 400
    assert response.json()["error"] == "unknown_type"
    assert "com.example.refund.issued" in response.json()["reason"]


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b"not json", "application/cloudevents+json", 400),
        (
            b'{"specversion": "1.0", "type": "com.mariopizzeria.payment.processed"}',
            "application/cloudevents+json",
            400,
        ),
        (b"[1, 2]", "application/cloudevents+json", 400),
        (
            b'{"specversion": "0.1", "id": "1", "source": "s", "type": "t"}',
            "application/cloudevents+json",
            400,
        ),
        # Standard Webhooks signs text: a body that is not UTF-8 cannot carry a valid signature.
        (b"\xff\xfe", "application/cloudevents+json", 401),
    ],
    ids=["not-json", "missing-id-and-source", "not-an-object", "unknown-specversion", "not-utf8"],
)
def test_malformed_cloudevents_are_400_never_500(client, body, content_type, status):
    when = timezone.now()
    secret = settings.CLOUDEVENTS_INBOUND_SECRET
    # Signed properly (the library signs text: sign these raw bytes by hand the same way).
    import base64
    import hashlib
    import hmac

    key = base64.b64decode(secret.removeprefix("whsec_"))
    ts = str(int(when.timestamp()))
    signature = base64.b64encode(
        hmac.new(key, b"m1." + ts.encode() + b"." + body, hashlib.sha256).digest()
    ).decode()

    response = client.post(
        "/cloudevents/",
        data=body,
        content_type=content_type,
        HTTP_WEBHOOK_ID="m1",
        HTTP_WEBHOOK_TIMESTAMP=ts,
        HTTP_WEBHOOK_SIGNATURE=f"v1,{signature}",
    )

    assert response.status_code == status, response.content
    assert response.json()["reason"]


@pytest.mark.parametrize(
    "data, field",
    [
        ({"order_id": "one", "amount": "1.00", "method": "card", "reference": "x"}, "order_id"),
        ({"order_id": 1, "amount": "a lot", "method": "card", "reference": "x"}, "amount"),
        ({"order_id": 1, "amount": "1.00", "method": "bitcoin", "reference": "x"}, "method"),
        ({"order_id": 1, "amount": "1.00", "method": "card"}, "reference"),
        ("just text", "top level"),
    ],
)
def test_data_that_breaks_the_schema_is_400_with_the_field(client, data, field):
    response = post(client, to_structured_event(cloudevent(data)))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_data"
    assert field in response.json()["reason"]


def test_only_post_and_a_bounded_body(client, settings):
    assert client.get("/cloudevents/").status_code == 405
    settings.CLOUDEVENTS_INBOUND_MAX_BYTES = 100
    response = client.post("/cloudevents/", data=b"x" * 500, content_type="application/cloudevents+json")
    assert response.status_code == 413


def test_no_inbound_secret_means_the_endpoint_is_off(client, settings):
    settings.CLOUDEVENTS_INBOUND_SECRET = ""
    response = client.post("/cloudevents/", data=json.dumps({}), content_type="application/cloudevents+json")
    assert response.status_code == 503


def test_the_cloudevent_payment_command_prints_a_curl_that_pays_the_order(client):
    import io
    import shlex

    from django.core.management import call_command

    with capture_events(run_handlers=False):
        order = make_order()
        out = io.StringIO()
        call_command("cloudevent_payment", "--order", str(order.pk), "--mode", "binary", stdout=out)
        argv = shlex.split(out.getvalue())
        headers = dict(argv[i + 1].split(": ", 1) for i, a in enumerate(argv) if a == "-H")
        body = argv[argv.index("--data-binary") + 1].encode()
        response = client.post(
            "/cloudevents/", data=body, content_type=headers.pop("content-type"), headers=headers
        )

    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert order.payment_status == "paid"


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_one_event_at_the_same_time_pay_once_and_both_succeed(monkeypatch):
    import threading

    from django.db import connections
    from django.test import Client

    from integrations import inbound

    with capture_events(run_handlers=False):
        order = make_order()
        event = cloudevent(payment(order))
        claimed = threading.Event()
        original = inbound._payment_processed

        def slow_first(data, *, source):
            claimed.set()  # the first copy holds its (source, id) claim, not yet committed
            threading.Event().wait(0.5)  # widen the window for the second copy (no timing asserted)
            return original(data, source=source)

        monkeypatch.setattr(inbound, "_payment_processed", slow_first)
        answers = {}

        def send(name, message):
            try:
                answers[name] = post(Client(), message)
            finally:
                connections.close_all()

        first = threading.Thread(target=send, args=("first", to_structured_event(event)))
        first.start()
        assert claimed.wait(timeout=10)
        second = threading.Thread(target=send, args=("second", to_binary_event(event)))
        second.start()
        first.join(timeout=20)
        second.join(timeout=20)

    assert answers["first"].status_code == answers["second"].status_code == 200
    assert [a.json().get("duplicate", False) for a in (answers["first"], answers["second"])] == [False, True]
    assert OutboxEvent.objects.filter(type=PaymentProcessed.type, aggregate_id=str(order.pk)).count() == 1


def test_an_overlong_id_is_400_not_500(client):
    response = post(client, to_structured_event(cloudevent({}, id_="x" * 300)))
    assert response.status_code == 400


def _pay_with_traceparent(client, traceparent: str):
    with capture_events(run_handlers=False):
        order = make_order()
        event = cloudevent(payment(order))
        event = CloudEvent(
            attributes={**event.get_attributes(), "traceparent": traceparent}, data=event.get_data()
        )
        return order, post(client, to_structured_event(event))


def test_an_inbound_traceparent_becomes_the_parent_of_the_work_it_starts(client, spans):  # noqa: F811
    # The sender's trace (CloudEvents Distributed Tracing extension) continues here: the payment's
    # events are recorded under a span whose parent is the sender's, so their deliveries join it.
    sender = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    order, response = _pay_with_traceparent(client, sender)

    assert response.status_code == 200, response.content
    (received,) = [s for s in spans.get_finished_spans() if s.name == f"cloudevent receive {TYPE}"]
    assert (f"{received.context.trace_id:032x}", f"{received.parent.span_id:016x}") == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )
    paid = OutboxEvent.objects.get(type=PaymentProcessed.type, aggregate_id=str(order.pk))
    assert paid.traceparent.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "traceparent", ["not-a-traceparent", "00-" + "0" * 32 + "-" + "0" * 16 + "-01", "\x00" * 55]
)
def test_a_malformed_inbound_traceparent_is_ignored(client, spans, traceparent):  # noqa: F811
    _, response = _pay_with_traceparent(client, traceparent)

    assert response.status_code == 200, response.content
    assert not [s for s in spans.get_finished_spans() if s.name.startswith("cloudevent receive")]
