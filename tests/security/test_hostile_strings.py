"""Hostile strings on every input the code reads by hand: never a 5xx, a refusal changes nothing.

DRF's serializers already refuse NUL and lone surrogates; what breaks is the code that reads raw
request data before (or instead of) a serializer or form: throttle and lock-out keys, the
idempotency key, headers, query parameters, URL ids, the admin's search box and filters, the
CloudEvents and Twilio callbacks. Each test drives one entry point with hypothesis (strategies in
tests/security/hostile.py) and asserts the same thing: < 500, and a 4xx left the rows as they were.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from standardwebhooks import Webhook
from twilio.request_validator import RequestValidator

from tests.factories import make_customer, make_menu, make_order, make_staff
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
    snapshot,
)

pytestmark = pytest.mark.django_db


def quoted(text: str) -> str:
    """Percent-encode any text for a URL, lone surrogates included (as the bytes a client could send)."""
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


def query(params: dict[str, str]) -> str:
    return "&".join(f"{quoted(k)}={quoted(v)}" for k, v in params.items())


def post_json(client: Client, path: str, body: str, **headers):
    return client.generic(
        "POST", path, body.encode("utf-8", "surrogatepass"), content_type="application/json", headers=headers
    )


@pytest.fixture
def customer_client():
    make_menu()
    customer = make_customer()
    token = Token.objects.create(user=customer.user)
    return Client(headers={"Authorization": f"Token {token.key}"}), customer


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(make_staff())
    return client


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


# --- the admin's search boxes and list filters ------------------------------------------------------


def changelists() -> list[str]:
    return sorted(f"/admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry)


@FUZZ_FEW
@given(
    term=hostile_text,
    filters=st.dictionaries(
        st.sampled_from(
            [
                "waiting",
                "stock",
                "status__exact",
                "status",
                "handler",
                "o",
                "p",
                "e",
                "all",
                "created_at__gte",
                "occurred_at__lt",
                "id__in",
            ]
        ),
        hostile_text | big_ids.map(str),
        max_size=3,
    ),
)
def test_admin_search_and_filters(staff_client, term, filters):
    before = snapshot()
    for path in changelists():
        response = staff_client.get(f"{path}?{query({'q': term, **filters})}")
        assert response.status_code < 500, (path, term[:40], filters, response.content[:300])
    assert snapshot() == before


@FUZZ
@given(username=hostile_text, password=hostile_text)
def test_admin_login_form(client, username, password):
    before = snapshot()
    response = client.post(
        "/admin/login/",
        data=f"username={quoted(username)}&password={quoted(password)}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 500
    assert snapshot() == before


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


def admin_actions() -> list[tuple[str, str]]:
    """(changelist path, action name) for every admin action, delete_selected included."""
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = type(
        "Superuser",
        (),
        {"has_perm": lambda *a: True, "is_active": True, "is_staff": True, "is_superuser": True},
    )()
    found = []
    for model, model_admin in admin.site._registry.items():
        path = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        found += [(path, name) for name in model_admin.get_actions(request)]
    return sorted(found)


@FUZZ
@given(
    selected=st.lists(hostile_text | big_ids.map(str), min_size=1, max_size=3), index=st.integers(0, 10_000)
)
def test_admin_actions_with_hostile_selections(staff_client, selected, index):
    actions = admin_actions()
    path, action = actions[index % len(actions)]
    before = snapshot()
    body = "&".join(
        [f"action={quoted(action)}", "index=0"] + [f"_selected_action={quoted(s)}" for s in selected]
    )
    response = staff_client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500, (path, action, selected, response.content[:300])
    assert snapshot() == before


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "description",
                "base_price",
                "code",
                "multiplier",
                "price",
                "url",
                "event_types",
                "secret",
                "quantity",
                "minimum_threshold",
                "supplier_email",
                "phone",
                "email",
            ]
        ),
        hostile_text | big_ids.map(str) | st.sampled_from(["NaN", "1e309", "-0", "Infinity"]),
        max_size=5,
    ),
    model=st.sampled_from(
        [
            "orders/pizza",
            "orders/topping",
            "orders/size",
            "kitchen/ingredient",
            "integrations/webhooksubscription",
        ]
    ),
)
def test_admin_add_forms(staff_client, fields, model):
    before = snapshot()
    response = staff_client.post(
        f"/admin/{model}/add/", data=query(fields), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code < 500, (model, fields, response.content[:300])
    if response.status_code == 200:  # the form again, with its errors: nothing saved
        assert snapshot() == before
