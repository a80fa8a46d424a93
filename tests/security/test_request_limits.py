"""Request limits on every endpoint: deep nesting → 400, oversized bodies → 413, never a 500.

"Every endpoint" is taken from the URL configuration itself (and the OpenAPI schema for the ones
that take JSON), so an endpoint added later is probed without editing this file.
"""

from __future__ import annotations

import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kitchen.models import KitchenTicket
from orders.models import Order
from tests.factories import make_customer, make_order, make_role_user, make_staff

pytestmark = pytest.mark.django_db

DEEP = "[" * 50_000  # what the issue sent: DRF's parser raised RecursionError (500)
MODERATE = json.dumps({"items": [{"toppings": json.loads("[" * 60 + "]" * 60)}]})  # parses, too deep
TEN_MB = b'{"notes": "' + b"x" * (10 * 1024 * 1024) + b'"}'


def _route(prefix: str, pattern) -> str | None:
    text = str(pattern.pattern)
    if text.startswith("^"):  # a regex route (admin's app index): fill in what it needs
        text = text.strip("^$").replace("\\", "")
        text = re.sub(r"\(\?P<\w+>[^)]*\)", "orders", text)
        if any(c in text for c in "()[]*+?|"):
            return None
    text = re.sub(r"<(?:int:)?\w+>", "1", text)
    text = re.sub(r"<\w+:\w+>", "1", text)
    return prefix + text


def all_paths(resolver: URLResolver | None = None, prefix: str = "/") -> list[str]:
    """Every concrete path of the URL configuration (ids filled with 1)."""
    resolver = resolver or get_resolver()
    paths: list[str] = []
    for entry in resolver.url_patterns:
        route = _route(prefix, entry)
        if route is None:
            continue
        if isinstance(entry, URLResolver):
            paths += all_paths(entry, route)
        elif isinstance(entry, URLPattern):
            paths.append(route)
    return sorted(set(paths))


def json_api_paths() -> list[str]:
    """The API operations that take a JSON body, from the OpenAPI schema."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put", "patch") and operation.get("requestBody"):
                found.append(re.sub(r"\{\w+\}", "{id}", path))
    return sorted(set(found))


@pytest.fixture
def customer_api():
    customer = make_customer(username="nest")
    order = make_order(customer=customer)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=customer.user).key}")
    return api, order


@pytest.mark.parametrize("body", [DEEP, MODERATE], ids=["50000-brackets", "60-levels"])
@pytest.mark.parametrize("path", json_api_paths())
def test_deeply_nested_json_is_400_on_every_json_endpoint(customer_api, path, body):
    api, order = customer_api
    orders_before = Order.objects.count()

    response = api.post(path.format(id=order.pk), body, content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    assert "nested deeper than" in response.json()["detail"]
    assert Order.objects.count() == orders_before and Order.objects.get(pk=order.pk).status == "placed"


def test_the_json_endpoints_include_the_ones_the_issue_attacked():
    assert {"/api/auth/register/", "/api/auth/token/", "/api/orders/"} <= set(json_api_paths())


@pytest.mark.parametrize("as_user", ["anonymous", "customer", "superuser"])
def test_deep_json_never_gets_a_500_anywhere(client, as_user):
    if as_user == "customer":
        client.force_login(make_customer(username="deep").user)
    elif as_user == "superuser":
        client.force_login(make_staff(username="root"))
    failures = {}
    for path in all_paths():
        response = client.post(path, DEEP, content_type="application/json")
        if response.status_code >= 500:
            failures[path] = response.status_code
    assert failures == {}


@pytest.mark.parametrize(
    "path",
    [
        "/api/auth/register/",
        "/api/auth/token/",
        "/api/orders/",
        "/admin/login/",
        "/webhooks/twilio/status/",
        "/kitchen/tickets/1/start/",
        "/nowhere/",
    ],
)
def test_a_10_mb_body_is_413_before_anything_reads_it(customer_api, path):
    api, _ = customer_api
    orders_before = Order.objects.count()

    response = api.post(path, TEN_MB, content_type="application/json")

    assert response.status_code == 413
    assert "limit is" in response.json()["detail"]
    assert Order.objects.count() == orders_before


def test_every_path_answers_413_for_an_oversized_body(client, settings):
    settings.REQUEST_MAX_BODY_BYTES = 1000
    body = b"x" * 1001
    assert {p: client.post(p, body, content_type="text/plain").status_code for p in all_paths()} == {
        p: 413 for p in all_paths()
    }


def test_a_body_at_the_limit_is_parsed(customer_api, settings):
    api, order = customer_api
    reason = "r" * 400
    settings.REQUEST_MAX_BODY_BYTES = len(json.dumps({"reason": reason}))
    response = api.post(f"/api/orders/{order.pk}/cancel/", {"reason": reason}, format="json")
    assert response.status_code == 200 and response.json()["cancel_reason"] == reason


def test_a_malformed_content_length_is_400(client):
    response = client.generic(
        "POST", "/api/auth/token/", b"{}", content_type="application/json", CONTENT_LENGTH="lots"
    )
    assert response.status_code == 400


def test_a_driver_name_longer_than_the_column_is_refused_with_a_message(client):
    order = make_order(status="ready")
    client.force_login(make_role_user("driver", username="dora"))

    response = client.post(f"/kitchen/dispatch/{order.pk}/send-out/", {"driver": "d" * 151}, follow=True)

    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == "ready" and not KitchenTicket.objects.exists()


def test_a_driver_name_longer_than_the_column_is_refused_in_the_order_admin(client):
    order = make_order(status="ready")
    client.force_login(make_role_user("manager", username="mona"))

    response = client.post(
        f"/admin/orders/order/{order.pk}/transition/send_out/", {"driver": "d" * 151}, follow=True
    )

    assert "at most 150 characters" in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == "ready"


LONG_EMAIL = "a" * 60 + "@" + ("b" * 60 + ".") * 4 + "com"  # valid shape, 309 characters


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/api/auth/register/", "email", LONG_EMAIL),  # was a DataError (varchar 254): 500
        ("/api/auth/register/", "username", "u" * 151),
        ("/api/auth/register/", "phone", "1" * 33),
        ("/api/auth/register/", "default_address", "a" * 501),
        ("/api/auth/token/", "username", "u" * 151),
        ("/api/auth/token/", "password", "p" * 129),
        ("/api/orders/", "notes", "n" * 1001),
        ("/api/orders/", "delivery_address", "a" * 501),
        ("/api/orders/", "phone", "1" * 33),
        ("/api/orders/{id}/cancel/", "reason", "r" * 501),
    ],
)
def test_text_longer_than_its_column_is_a_400_naming_the_field(customer_api, path, field, value):
    api, order = customer_api
    body = {"username": "someone", "password": "a-long-secret-1", "items": [{"pizza": 1, "size": "large"}],
            "fulfilment": "pickup", field: value}  # fmt: skip
    orders_before = Order.objects.count()

    response = api.post(path.format(id=order.pk), body, format="json")

    assert response.status_code == 400, response.content[:300]
    assert field in response.json()
    assert Order.objects.count() == orders_before and Order.objects.get(pk=order.pk).status == "placed"
