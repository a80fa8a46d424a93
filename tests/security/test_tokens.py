"""API tokens: logout revokes at once, and a token expires API_TOKEN_TTL_HOURS after issue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import make_customer

pytestmark = pytest.mark.django_db
PASSWORD = "pw-123456-xyz"


def with_token(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def get_token(username: str) -> str:
    response = APIClient().post(
        "/api/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def test_logout_revokes_the_token_at_once():
    customer = make_customer(username="lou")
    api = with_token(get_token("lou"))
    assert api.get("/api/orders/").status_code == 200

    assert api.post("/api/auth/logout/").status_code == 204

    assert api.get("/api/orders/").status_code == 401
    assert not Token.objects.filter(user=customer.user).exists()
    assert get_token("lou") != api._credentials["HTTP_AUTHORIZATION"].split()[1]  # a fresh one on login


def test_logout_needs_a_valid_token():
    assert APIClient().post("/api/auth/logout/").status_code == 401
    assert with_token("not-a-token").post("/api/auth/logout/").status_code == 401


def test_a_token_past_its_lifetime_is_refused_and_login_issues_a_new_one(settings):
    settings.API_TOKEN_TTL_HOURS = 1
    make_customer(username="old")
    key = get_token("old")
    Token.objects.filter(key=key).update(created=timezone.now() - dt.timedelta(hours=1, seconds=1))

    refused = with_token(key).get("/api/orders/")

    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    fresh = get_token("old")
    assert fresh != key and not Token.objects.filter(key=key).exists()
    assert with_token(fresh).get("/api/orders/").status_code == 200


def test_a_token_within_its_lifetime_keeps_working_and_login_returns_the_same_one(settings):
    settings.API_TOKEN_TTL_HOURS = 1
    make_customer(username="new")
    key = get_token("new")
    Token.objects.filter(key=key).update(created=timezone.now() - dt.timedelta(minutes=59))
    assert with_token(key).get("/api/orders/").status_code == 200
    assert get_token("new") == key
