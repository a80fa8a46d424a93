"""Hostile strings on every input of the API and the machine callbacks the code reads by hand: never
a 5xx, a refusal changes nothing (the admin's inputs: test_hostile_strings_admin.py).

DRF's serializers already refuse NUL and lone surrogates; what breaks is the code that reads raw
request data before (or instead of) a serializer or form: throttle and lock-out keys, the
idempotency key, headers, query parameters, URL ids, the CloudEvents and Twilio callbacks. Each
test drives one entry point with hypothesis (strategies in tests/security/hostile.py) and asserts
the same thing: < 500, and a 4xx left the rows as they were.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from twilio.request_validator import RequestValidator

from tests.factories import make_order
from tests.security.hostile import (
    BIG_INTS,
    FUZZ,
    FUZZ_FEW,
    assert_refused_cleanly,
    big_ids,
    hostile_header,
    hostile_text,
    json_object,
    json_value_text,
    post_json,
    query,
    quoted,
    snapshot,
)

pytestmark = pytest.mark.django_db


# --- the API's bodies and the hand-written keys read before the serializer ----------------------------


@FUZZ
@given(
    body=json_object({"username": hostile_text.map(json.dumps), "password": hostile_text.map(json.dumps)}),
    forwarded=hostile_header,
)
@example(body='{"username": "a\\ud800", "password": "x"}', forwarded="1.2.3.4")  # the 500
@example(body='{"username": "\\u0000", "password": "\\ud800"}', forwarded="\x00")
def test_token_endpoint(client, body, forwarded):
    before = snapshot()
    response = post_json(client, "/api/auth/token/", body, **{"X-Forwarded-For": forwarded})
    assert_refused_cleanly(response, before, snapshot(), what=f"token {body[:80]!r}")


@FUZZ
@given(
    body=json_object(
        {
            "username": hostile_text.map(json.dumps),
            "password": hostile_text.map(json.dumps),
            "email": hostile_text.map(json.dumps),
            "phone": hostile_text.map(json.dumps),
        }
    )
)
def test_register_endpoint(client, body):
    before = snapshot()
    response = post_json(client, "/api/auth/register/", body)
    if response.status_code == 201:
        return  # a valid account was made: nothing to compare
    assert_refused_cleanly(response, before, snapshot(), what=f"register {body[:80]!r}")


ITEM = st.fixed_dictionaries(
    {},
    optional={
        "pizza": json_value_text,
        "size": json_value_text,
        "toppings": json_value_text,
        "quantity": json_value_text,
    },
).map(lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}")


@FUZZ
@given(
    body=json_object(
        {
            "items": st.lists(ITEM, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]"),
            "fulfilment": st.sampled_from(['"delivery"', '"pickup"']),
            "delivery_address": hostile_text.map(json.dumps),
            "notes": hostile_text.map(json.dumps),
            "phone": hostile_text.map(json.dumps),
        }
    ),
    key=hostile_header,
)
def test_order_create_with_idempotency_key(customer_client, body, key):
    client, _ = customer_client
    before = snapshot()
    response = post_json(client, "/api/orders/", body, **{"Idempotency-Key": key})
    if response.status_code == 201:
        return
    assert_refused_cleanly(response, before, snapshot(), what=f"order {body[:80]!r} key {key[:40]!r}")


@FUZZ_FEW
@given(reason=json_value_text, order_id=big_ids)
def test_order_detail_and_cancel_by_id(customer_client, reason, order_id):
    client, customer = customer_client
    mine = make_order(customer=customer)
    before = snapshot()
    for pk in (order_id, mine.pk):
        assert client.get(f"/api/orders/{pk}/").status_code < 500
        response = post_json(client, f"/api/orders/{pk}/cancel/", f'{{"reason": {reason}}}')
        assert response.status_code < 500, (pk, reason[:80], response.content[:300])
        if response.status_code >= 400:
            assert snapshot() == before


# --- headers every request may carry ---------------------------------------------------------------


@FUZZ
@given(
    value=hostile_header,
    header=st.sampled_from(
        [
            "Authorization",
            "X-Request-ID",
            "X-Forwarded-For",
            "Idempotency-Key",
            "Content-Type",
            "Accept",
            "Host",
        ]
    ),
)
def test_headers_on_public_and_private_endpoints(client, value, header):
    for path in ("/api/menu/", "/api/orders/", "/metrics", "/readyz", "/healthz"):
        response = client.get(path, headers={header: value})
        assert response.status_code < 500, (path, header, value[:40], response.content[:200])
    for prefix in ("Token ", "Bearer ", "Basic "):
        response = client.get("/api/orders/", headers={"Authorization": prefix + value})
        assert response.status_code < 500


# --- query parameters: dashboard, CSV exports, pagination, ops screen --------------------------------


@FUZZ_FEW
@given(
    params=st.dictionaries(
        st.sampled_from(["start", "end", "day", "page", "partial", "format", "o", "p", "q"]),
        hostile_text | big_ids.map(str),
        max_size=4,
    )
)
def test_query_parameters(staff_client, customer_client, params):
    client, _ = customer_client
    qs = query(params)
    for path in (
        "/analytics/",
        "/analytics/csv/orders.csv",
        "/analytics/csv/revenue.csv",
        "/admin/ops/",
        "/kitchen/",
        "/kitchen/dispatch/",
        "/api/events/",
        "/admin/eventbus/delivery/",
    ):
        response = staff_client.get(f"{path}?{qs}")
        assert response.status_code < 500, (path, qs[:120], response.content[:300])
    response = client.get(f"/api/orders/?{qs}")
    assert response.status_code < 500, (qs[:120], response.content[:300])


# --- URL ids: the tracker, the kitchen's buttons, the admin's change pages ---------------------------


@FUZZ
@given(order_id=big_ids, token=hostile_text)
def test_tracker_urls(client, order_id, token):
    for suffix in ("", "status/", "events/"):
        response = client.get(f"/track/{order_id}/{quoted(token) or 'x'}/{suffix}")
        assert response.status_code < 500, (order_id, token[:40], suffix)


@FUZZ_FEW
@given(pk=st.sampled_from(BIG_INTS) | big_ids, driver=hostile_text)
def test_staff_actions_by_id(staff_client, pk, driver):
    order = make_order(status="ready")
    before = snapshot()
    for path in (
        f"/kitchen/tickets/{pk}/start/",
        f"/kitchen/tickets/{pk}/ready/",
        f"/kitchen/dispatch/{pk}/send-out/",
        f"/kitchen/dispatch/{pk}/delivered/",
    ):
        response = staff_client.post(path)
        assert response.status_code < 500, path
    for path in (
        f"/admin/orders/order/{pk}/change/",
        f"/admin/eventbus/delivery/{pk}/change/",
        f"/admin/orders/order/{quoted(driver) or 'x'}/change/",
    ):
        assert staff_client.get(path).status_code < 500, path
    assert snapshot() == before
    response = staff_client.post(
        f"/kitchen/dispatch/{order.pk}/send-out/",
        data=f"driver={quoted(driver)}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 500, driver[:40]


# --- machine callbacks: CloudEvents in, Twilio's status callback ---------------------------------------


def signed_cloudevent(client: Client, body: str, **attributes):
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = timezone.now()
    raw = body.encode("utf-8", "surrogatepass")
    signature = Webhook(settings.CLOUDEVENTS_INBOUND_SECRET).sign(msg_id, now, raw.decode("utf-8", "replace"))
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        **attributes,
    }
    return client.generic(
        "POST", "/cloudevents/", raw, content_type="application/cloudevents+json", headers=headers
    )


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            "id": json_value_text,
            "source": json_value_text,
            "type": json_value_text,
            "specversion": json_value_text,
            "data": json_object(
                {
                    "order_id": big_ids.map(str),
                    "amount": json_value_text,
                    "method": json_value_text,
                    "reference": json_value_text,
                }
            ),
        },
    )
)
@example(
    fields={
        "id": '"a\\u0000"',
        "source": '"s"',
        "type": '"com.mariopizzeria.payment.processed"',
        "specversion": '"1.0"',
        "data": f'{{"order_id": {2**64}, "amount": "1.00", "method": "card", "reference": "r"}}',
    }
)
def test_cloudevents_inbound(client, fields):
    body = (
        "{"
        + ",".join(
            f"{json.dumps(k)}:{v}"
            for k, v in {
                "specversion": '"1.0"',
                "type": '"com.mariopizzeria.payment.processed"',
                "datacontenttype": '"application/json"',
                **fields,
            }.items()
        )
        + "}"
    )
    before = snapshot()
    response = signed_cloudevent(client, body)
    assert_refused_cleanly(response, before, snapshot(), what=f"cloudevent {body[:120]!r}")


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["MessageSid", "SmsSid", "MessageStatus", "ErrorCode", "To"]),
        hostile_text,
        max_size=4,
    )
)
def test_twilio_status_callback(client, params):
    token = "test-twilio-token"
    url = "http://testserver/webhooks/twilio/status/"
    clean = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in params.items()}
    signature = RequestValidator(token).compute_signature(url, clean)
    before = snapshot()
    with override_settings(TWILIO_AUTH_TOKEN=token, PUBLIC_BASE_URL=""):
        response = client.post(
            "/webhooks/twilio/status/",
            data=query(params),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )
    assert response.status_code < 500, (params, response.content[:200])
    if response.status_code >= 400:
        assert snapshot() == before
