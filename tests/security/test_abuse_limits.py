"""Abuse limits: throttles per address and per account, and the failed-login lockout, all kept in
the shared Redis cache — proven across two separate processes, as two gunicorn workers would be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders.models import Order
from tests.factories import make_customer, make_menu, make_order, make_staff
from tests.worker import worker_database_url

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "/api/auth/token/"
ADMIN_PASSWORD = "pizza-admin-1"

# One process's worth of attacker: 20 wrong passwords for "admin", the codes printed as JSON.
ATTACK = """
import json, django
django.setup()
from django.test import Client
client = Client()
codes = [client.post("/api/auth/token/", {"username": "admin", "password": f"guess-{i}"},
                     content_type="application/json").status_code for i in range(20)]
print(json.dumps(codes))
"""


def attack_from_another_process(**env: str) -> list[int]:
    result = subprocess.run(
        [sys.executable, "-c", ATTACK],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "pizzeria.settings.test", "DATABASE_URL": worker_database_url(),
             "REDIS_URL": settings.REDIS_URL, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def rates(settings, **scopes: str) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": scopes}


def token_for(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


def login(password: str, *, ip: str = "127.0.0.1", username: str = "admin"):
    return APIClient(REMOTE_ADDR=ip).post(TOKEN, {"username": username, "password": password}, format="json")


# --- the failed-login lockout (django-axes, cache handler) -----------------------------------------
@pytest.mark.django_db(transaction=True)
def test_forty_bad_passwords_from_two_processes_are_locked_out_and_so_is_the_right_one():
    make_staff(username="admin", password=ADMIN_PASSWORD)

    first = attack_from_another_process()
    second = attack_from_another_process()

    limit = settings.AXES_FAILURE_LIMIT
    assert first[: limit - 1] == [400] * (limit - 1)
    assert first[limit - 1 :] == [429] * (20 - limit + 1)
    assert second == [429] * 20  # the second process sees the first one's failures
    locked = login(ADMIN_PASSWORD)
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert "Too many failed logins" in locked.json()["detail"]
    assert not Token.objects.exists()  # no token was ever issued


@pytest.mark.django_db(transaction=True)
def test_throttle_counts_are_shared_between_processes():
    make_staff(username="admin", password=ADMIN_PASSWORD)
    lockout_off = {"AXES_FAILURE_LIMIT": "1000", "TEST_THROTTLE_RATE": "10/min"}

    first = attack_from_another_process(**lockout_off)
    second = attack_from_another_process(**lockout_off)

    assert first == [400] * 10 + [429] * 10
    assert second == [429] * 20  # with per-process memory it would have allowed 10 more


@pytest.mark.django_db
def test_the_lockout_is_per_username_and_address():
    make_staff(username="admin", password=ADMIN_PASSWORD)
    codes = [login(f"guess-{i}").status_code for i in range(settings.AXES_FAILURE_LIMIT)]
    assert codes[-1] == 429 and set(codes[:-1]) == {400}
    # Another address is not locked out by this one's failures (the per-username throttle is the
    # limit there); a right password from it works and returns a token.
    elsewhere = login(ADMIN_PASSWORD, ip="192.0.2.7")
    assert elsewhere.status_code == 200 and elsewhere.json()["token"]


@pytest.mark.django_db
def test_a_successful_login_forgets_the_earlier_failures():
    admin = make_staff(username="admin", password=ADMIN_PASSWORD)
    below = settings.AXES_FAILURE_LIMIT - 1
    assert {login(f"guess-{i}").status_code for i in range(below)} == {400}
    assert login(ADMIN_PASSWORD).status_code == 200
    assert {login(f"again-{i}").status_code for i in range(below)} == {400}  # counting starts over
    admin.refresh_from_db()
    assert admin.last_login is not None


@pytest.mark.django_db
def test_admin_login_is_locked_out_too(client):
    make_staff(username="admin", password=ADMIN_PASSWORD)
    for i in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/admin/login/", {"username": "admin", "password": f"guess-{i}"})
    assert response.status_code == 429
    response = client.post("/admin/login/", {"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 429 and "_auth_user_id" not in client.session


# --- throttles per address and per account ----------------------------------------------------------
@pytest.mark.django_db
def test_registration_is_throttled_per_address(settings):
    rates(settings, register_ip="3/hour")

    def register(n: int, ip: str):
        body = {"username": f"new{n}", "password": "a-long-secret-1"}
        return APIClient(REMOTE_ADDR=ip).post("/api/auth/register/", body, format="json")

    assert [register(n, "198.51.100.1").status_code for n in range(4)] == [201, 201, 201, 429]
    assert register(9, "198.51.100.2").status_code == 201


@pytest.mark.django_db
def test_token_endpoint_is_throttled_per_username_across_addresses(settings):
    rates(settings, token_user="3/min")
    make_staff(username="admin", password=ADMIN_PASSWORD)

    codes = [login(f"guess-{i}", ip=f"203.0.113.{i}").status_code for i in range(4)]

    assert codes == [400, 400, 400, 429]  # a password spray from many addresses hits the account limit
    assert login("whatever", username="someone-else", ip="203.0.113.99").status_code == 400


@pytest.mark.django_db
def test_token_endpoint_is_throttled_per_address_across_usernames(settings):
    rates(settings, token_ip="3/min")
    codes = [login("guess", username=f"user{i}").status_code for i in range(4)]
    assert codes == [400, 400, 400, 429]


@pytest.mark.django_db
def test_order_placement_is_throttled_per_address_across_accounts(settings):
    rates(settings, order_place_ip="2/min")
    menu = make_menu()
    body = {"items": [{"pizza": menu["pizzas"]["Margherita"].pk, "size": "large"}], "fulfilment": "pickup"}
    clients = [token_for(make_customer(username=f"c{n}").user) for n in range(3)]

    codes = [api.post("/api/orders/", body, format="json").status_code for api in clients]

    assert codes == [201, 201, 429] and Order.objects.count() == 2


@pytest.mark.django_db
def test_cancel_is_throttled_per_account(settings):
    rates(settings, order_cancel_user="1/min")
    customer = make_customer(username="canceller")
    first, second = make_order(customer=customer), make_order(customer=customer)
    api = token_for(customer.user)

    assert api.post(f"/api/orders/{first.pk}/cancel/", {}, format="json").status_code == 200
    refused = api.post(f"/api/orders/{second.pk}/cancel/", {}, format="json")

    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert Order.objects.get(pk=second.pk).status == "placed"


@pytest.mark.django_db
def test_an_unreachable_cache_never_turns_a_login_or_an_order_into_a_500(settings, caplog):
    # A cache on a closed port: the throttles and the lockout let requests through (with a
    # warning) instead of failing them; passwords are still checked.
    from tests.worker import free_port

    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}
    }
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}  # DRF reloads, throttles read the new cache
    make_staff(username="admin", password=ADMIN_PASSWORD)
    customer = make_customer(username="offline")

    assert login("wrong").status_code == 400
    assert login(ADMIN_PASSWORD).status_code == 200
    menu = make_menu()
    body = {"items": [{"pizza": menu["pizzas"]["Margherita"].pk, "size": "large"}], "fulfilment": "pickup"}
    assert token_for(customer.user).post("/api/orders/", body, format="json").status_code == 201
    assert "did not answer (throttle token_ip" in caplog.text  # the first call opened the breaker
