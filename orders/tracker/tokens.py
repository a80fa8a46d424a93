"""Tracker links: /track/<order id>/<token>/, the token an HMAC of the order id.

An HMAC rather than a stored random token: unguessable without SECRET_KEY, nothing to migrate
or back-fill, and every order (old ones too) has a link. Rotating SECRET_KEY keeps old links
working while the old key stays in SECRET_KEY_FALLBACKS.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "orders.tracker"
TOKEN_LENGTH = 32  # hex characters: 128 bits
# Where `make run` serves; a deployment sets PUBLIC_BASE_URL so SMS and e-mail links point at it.
DEV_BASE_URL = "http://127.0.0.1:8000"


def _token(order_id: int, secret: str) -> str:
    return salted_hmac(SALT, str(order_id), secret=secret, algorithm="sha256").hexdigest()[:TOKEN_LENGTH]


def tracker_token(*, order_id: int) -> str:
    return _token(order_id, settings.SECRET_KEY)


def tracker_token_valid(*, order_id: int, token: str) -> bool:
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(constant_time_compare(token, _token(order_id, secret)) for secret in secrets)


def tracker_path(*, order_id: int) -> str:
    return reverse("order-tracker", kwargs={"order_id": order_id, "token": tracker_token(order_id=order_id)})


def tracker_url(*, order_id: int, request: HttpRequest | None = None) -> str:
    """Absolute link: from the request when there is one (the API), else PUBLIC_BASE_URL (messages)."""
    path = tracker_path(order_id=order_id)
    if request is not None:
        return request.build_absolute_uri(path)
    return (settings.PUBLIC_BASE_URL or DEV_BASE_URL).rstrip("/") + path
