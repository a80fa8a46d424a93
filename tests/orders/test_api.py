import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders.models import Order
from tests.factories import make_customer, make_menu, make_order, make_staff, make_user

pytestmark = pytest.mark.django_db


def client_for(customer_or_user) -> APIClient:
    user = getattr(customer_or_user, "user", customer_or_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def menu():
    return make_menu()


@pytest.fixture
def customer():
    return make_customer(username="alice")


@pytest.fixture
def api(customer):
    return client_for(customer)


def order_body(menu, **overrides):
    body = {
        "items": [
            {
                "pizza": menu["pizzas"]["Margherita"].pk,
                "size": "large",
                "toppings": ["mushrooms"],
                "quantity": 2,
            }
        ],
        "fulfilment": "delivery",
        "delivery_address": "12 Via Roma, Springfield",
        "notes": "",
    }
    return {**body, **overrides}


# --- auth ---------------------------------------------------------------------------------------
def test_register_returns_token_and_creates_customer():
    response = APIClient().post(
        "/api/auth/register/",
        {
            "username": "bob",
            "password": "a-Long-passw0rd",
            "email": "bob@example.com",
            "phone": "+1 500 555 0006",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    token = response.json()["token"]
    user = get_user_model().objects.get(username="bob")
    assert Token.objects.get(user=user).key == token and user.customer.phone == "+15005550006"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"username": "alice", "password": "a-Long-passw0rd"}, "username"),
        ({"username": "bob", "password": "123"}, "password"),
        ({"username": "bob", "password": "a-Long-passw0rd", "phone": "12"}, "phone"),
        ({"username": "bob", "password": "a-Long-passw0rd", "email": "nope"}, "email"),
        ({"password": "a-Long-passw0rd"}, "username"),
    ],
)
def test_register_validation(customer, body, field):
    response = APIClient().post("/api/auth/register/", body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_token_login():
    make_user(username="carol", password="s3cret-pass-word")
    response = APIClient().post(
        "/api/auth/token/", {"username": "carol", "password": "s3cret-pass-word"}, format="json"
    )
    assert response.status_code == 200 and len(response.json()["token"]) == 40
    bad = APIClient().post("/api/auth/token/", {"username": "carol", "password": "wrong"}, format="json")
    assert bad.status_code == 400


# --- menu ---------------------------------------------------------------------------------------
def test_menu_is_public(menu):
    body = APIClient().get("/api/menu/").json()
    assert set(body) == {"pizzas", "sizes", "toppings"}
    margherita = next(p for p in body["pizzas"] if p["name"] == "Margherita")
    assert margherita["base_price"] == "9.50"
    assert {"code": "small", "name": "Small", "multiplier": "0.80"} in body["sizes"]
    assert any(t["code"] == "mushrooms" for t in body["toppings"])


# --- placing --------------------------------------------------------------------------------------
def test_place_order(api, menu):
    response = api.post("/api/orders/", order_body(menu), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "placed" and body["total_amount"] == "31.18" and body["fulfilment"] == "delivery"
    assert body["items"][0]["unit_price"] == "15.59" and body["items"][0]["toppings"] == ["mushrooms"]
    assert body["estimated_ready_time"] and body["estimated_delivery_time"]
    assert [e["type"] for e in body["timeline"]] == ["com.mariopizzeria.order.placed"]


def test_client_prices_are_ignored(api, menu):
    body = order_body(menu, total_amount="0.01")
    body["items"][0]["unit_price"] = "0.01"
    assert api.post("/api/orders/", body, format="json").json()["total_amount"] == "31.18"


def test_idempotency_replay_returns_same_order(api, menu):
    first = api.post("/api/orders/", order_body(menu), format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    again = api.post("/api/orders/", order_body(menu), format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_idempotency_conflict_is_422(api, menu):
    api.post("/api/orders/", order_body(menu), format="json", HTTP_IDEMPOTENCY_KEY="abc-2")
    response = api.post(
        "/api/orders/", order_body(menu, notes="extra basil"), format="json", HTTP_IDEMPOTENCY_KEY="abc-2"
    )
    assert response.status_code == 422 and "Idempotency-Key" in response.json()["detail"]
    assert Order.objects.count() == 1


def test_idempotency_key_is_per_customer(api, menu):
    other = client_for(make_customer(username="bob"))
    a = api.post("/api/orders/", order_body(menu), format="json", HTTP_IDEMPOTENCY_KEY="same")
    b = other.post("/api/orders/", order_body(menu), format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert a.json()["id"] != b.json()["id"]


def test_idempotency_key_too_long_is_400(api, menu):
    response = api.post("/api/orders/", order_body(menu), format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert response.status_code == 400


def _item(menu, **kw):
    return {"pizza": menu["pizzas"]["Margherita"].pk, "size": "small", "toppings": [], "quantity": 1, **kw}


@pytest.mark.parametrize(
    "case,field",
    [
        ("unknown_pizza", "items"),
        ("inactive_pizza", "items"),
        ("unknown_size", "items"),
        ("unknown_topping", "items"),
        ("quantity_zero", "items"),
        ("quantity_21", "items"),
        ("too_many_items", "items"),
        ("no_items", "items"),
        ("delivery_without_address", "delivery_address"),
        ("invalid_phone", "phone"),
        ("bad_fulfilment", "fulfilment"),
    ],
)
def test_place_validation_errors(api, menu, case, field):
    body = order_body(menu)
    if case == "inactive_pizza":
        menu["pizzas"]["Diavola"].active = False
        menu["pizzas"]["Diavola"].save()
    body["items"] = {
        "unknown_pizza": [_item(menu, pizza=99999)],
        "inactive_pizza": [_item(menu, pizza=menu["pizzas"]["Diavola"].pk)],
        "unknown_size": [_item(menu, size="huge")],
        "unknown_topping": [_item(menu, toppings=["gold-leaf"])],
        "quantity_zero": [_item(menu, quantity=0)],
        "quantity_21": [_item(menu, quantity=21)],
        "too_many_items": [_item(menu)] * 51,
        "no_items": [],
    }.get(case, body["items"])
    if case == "delivery_without_address":
        body["delivery_address"] = "  "
    if case == "invalid_phone":
        body["phone"] = "+1 23"
    if case == "bad_fulfilment":
        body["fulfilment"] = "teleport"
    response = api.post("/api/orders/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Order.objects.exists()


def test_item_errors_name_the_field(api, menu):
    body = order_body(menu, items=[_item(menu), _item(menu, size="huge", toppings=["gold"])])
    errors = api.post("/api/orders/", body, format="json").json()["items"]
    assert errors[0] == {} and set(errors[1]) == {"size", "toppings"}


@pytest.mark.parametrize("payload", ['{"items": [', "[]", '"just a string"', "null"])
def test_malformed_json_is_400(api, payload):
    response = api.post("/api/orders/", payload, content_type="application/json")
    assert response.status_code == 400


def test_phone_override(api, menu):
    body = api.post("/api/orders/", order_body(menu, phone="+1 415 555 2671"), format="json").json()
    assert body["phone"] == "+14155552671"


def test_staff_without_profile_gets_403(menu):
    response = client_for(make_staff()).post("/api/orders/", order_body(menu), format="json")
    assert response.status_code == 403 and "customer profile" in response.json()["detail"]


def test_anonymous_gets_401(menu):
    assert APIClient().get("/api/orders/").status_code == 401


def test_throttling(api, menu, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"order_place_user": "2/min"},
    }
    codes = [api.post("/api/orders/", order_body(menu), format="json").status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert api.get("/api/orders/").status_code == 200  # reading is not throttled
    other = client_for(make_customer(username="bob"))
    assert other.post("/api/orders/", order_body(menu), format="json").status_code == 201  # per customer


# --- reading, BOLA, cancel ------------------------------------------------------------------------
def test_list_own_orders_newest_first(api, customer):
    older, newer = make_order(customer=customer), make_order(customer=customer)
    make_order()  # someone else's
    body = api.get("/api/orders/").json()
    assert body["count"] == 2 and [o["id"] for o in body["results"]] == [newer.pk, older.pk]


def test_detail_has_timeline(api, customer):
    order = make_order(customer=customer, status="cooking")
    body = api.get(f"/api/orders/{order.pk}/").json()
    assert body["status"] == "cooking"
    assert [e["status"] for e in body["timeline"]] == ["placed", "paid", "cooking"]


def test_bola_other_customers_order_is_404(api):
    theirs = make_order(customer=make_customer(username="bob"))
    assert api.get(f"/api/orders/{theirs.pk}/").status_code == 404
    assert api.post(f"/api/orders/{theirs.pk}/cancel/", {}, format="json").status_code == 404
    assert Order.objects.get(pk=theirs.pk).status == "placed"


def test_huge_order_id_is_404_not_500(api):
    assert api.get(f"/api/orders/{2**70}/").status_code == 404


def test_cancel(api, customer):
    order = make_order(customer=customer)
    response = api.post(f"/api/orders/{order.pk}/cancel/", {"reason": "changed my mind"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    order.refresh_from_db()
    assert (order.cancel_reason, order.cancelled_by) == ("changed my mind", "alice")


def test_cancel_after_cooking_is_409(api, customer):
    order = make_order(customer=customer, status="cooking")
    response = api.post(f"/api/orders/{order.pk}/cancel/", {}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Order {order.pk} is cooking; only placed or paid orders can be cancelled"
    }


def test_schema_and_docs_are_served():
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert "409" in paths["/api/orders/{id}/cancel/"]["post"]["responses"]
    assert "422" in paths["/api/orders/"]["post"]["responses"]
    assert client.get("/api/docs/").status_code == 200


# --- cost ---------------------------------------------------------------------------------------------
QUERY_BUDGET = 10  # issue 13: a lean order request


def two_item_delivery(menu) -> dict:
    return order_body(
        menu,
        items=[
            {
                "pizza": menu["pizzas"]["Margherita"].pk,
                "size": "large",
                "toppings": ["mushrooms", "olives"],
                "quantity": 2,
            },
            {
                "pizza": menu["pizzas"]["Diavola"].pk,
                "size": "small",
                "toppings": ["extra-cheese"],
                "quantity": 1,
            },
        ],
    )


def test_placing_an_order_runs_at_most_ten_queries(api, menu, django_assert_max_num_queries):
    # given: a webhook subscription too, so the per-subscription delivery is part of the count
    from eventbus.models import Delivery
    from tests.integrations.helpers import subscribe

    sub, _ = subscribe("http://127.0.0.1:9/hook")  # never called: nothing commits here
    # when: the whole request, token auth, throttles and the Idempotency-Key path included
    with django_assert_max_num_queries(QUERY_BUDGET):
        response = api.post(
            "/api/orders/", two_item_delivery(menu), format="json", HTTP_IDEMPOTENCY_KEY="lean-1"
        )
    # then
    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert [len(i["toppings"]) for i in response.json()["items"]] == [2, 1] and order.items.count() == 2
    assert Delivery.objects.filter(handler=sub.handler_name, event__aggregate_id=str(order.pk)).count() == 1


def test_the_placed_order_is_answered_as_it_reads_back(api, menu):
    """The response is built from what the request wrote, not re-read: it must say what a read says."""
    placed = api.post(
        "/api/orders/", two_item_delivery(menu), format="json", HTTP_IDEMPOTENCY_KEY="same-1"
    ).json()
    assert api.get(f"/api/orders/{placed['id']}/").json() == placed
    replayed = api.post(
        "/api/orders/", two_item_delivery(menu), format="json", HTTP_IDEMPOTENCY_KEY="same-1"
    ).json()
    assert replayed == placed


def test_a_replay_after_the_menu_changed_still_gets_its_order(api, menu):
    first = api.post("/api/orders/", order_body(menu), format="json", HTTP_IDEMPOTENCY_KEY="menu-1")
    menu["pizzas"]["Margherita"].active = False
    menu["pizzas"]["Margherita"].save()
    again = api.post("/api/orders/", order_body(menu), format="json", HTTP_IDEMPOTENCY_KEY="menu-1")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    fresh = api.post("/api/orders/", order_body(menu), format="json", HTTP_IDEMPOTENCY_KEY="menu-2")
    assert fresh.status_code == 400 and fresh.json()["items"] == [
        {"pizza": [f"Pizza {menu['pizzas']['Margherita'].pk} is not on the menu."]}
    ]


def test_item_errors_keep_the_api_messages(api, menu):
    body = order_body(
        menu,
        items=[
            _item(menu),
            _item(menu, size="huge", toppings=["gold", "gold"]),
            _item(menu, toppings=["olives", "olives"]),
        ],
    )
    errors = api.post("/api/orders/", body, format="json").json()["items"]
    assert errors == [
        {},
        {
            "size": ["Unknown size 'huge'; see /api/menu/."],
            "toppings": ["Unknown topping 'gold'; see /api/menu/."] * 2,
        },
        {"toppings": ["Each topping can be listed once."]},
    ]
