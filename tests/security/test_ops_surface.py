"""The ops surface: /metrics behind a token or a permission and cheap, /readyz says only ok or
failed, and one account cannot hold every display stream."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from django.db import OperationalError
from django.test import AsyncClient

from eventbus.models import Delivery
from pizzeria.livehub import close_hub
from tests.eventbus import rows
from tests.factories import make_customer, make_role_user

pytestmark = pytest.mark.django_db

SECRET = "scrape-me-3f9a1c"


def test_anonymous_metrics_are_refused_and_reveal_nothing(client):
    rows.dead(handler="notifications.handlers.sms_order_confirmation")

    response = client.get("/metrics")

    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert b"eventbus" not in response.content and b"sms_order_confirmation" not in response.content


@pytest.mark.parametrize("header", ["Bearer wrong", "Token " + SECRET, "Bearer", f"Basic {SECRET}"])
def test_metrics_refuse_a_wrong_token(client, settings, header):
    settings.METRICS_TOKEN = SECRET
    assert client.get("/metrics", HTTP_AUTHORIZATION=header).status_code == 401


def test_an_empty_metrics_token_never_matches(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_a_scraper_with_the_token_gets_the_metrics_from_one_query(
    client, settings, django_assert_num_queries
):
    settings.METRICS_TOKEN = SECRET
    rows.dead(handler="h.dead")
    rows.delivery(handler="h.open", status=Delivery.Status.PENDING)
    for _ in range(3):
        rows.delivery(handler="h.done", status=Delivery.Status.SUCCEEDED)

    with django_assert_num_queries(1):
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SECRET}")

    body = response.content.decode()
    assert response.status_code == 200
    assert 'eventbus_deliveries{handler="h.dead",status="dead"} 1.0' in body
    assert 'eventbus_deliveries{handler="h.open",status="pending"} 1.0' in body
    assert 'eventbus_oldest_open_delivery_age_seconds{handler="h.open"}' in body
    assert "h.done" not in body  # succeeded rows, most of the table, are never scanned


def test_signed_in_staff_need_the_metrics_permission(client):
    client.force_login(make_role_user("cook"))
    assert client.get("/metrics").status_code == 403
    client.force_login(make_role_user("manager"))
    assert client.get("/metrics").status_code == 200


def test_readyz_names_a_failed_dependency_and_nothing_about_why(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError('FATAL: password authentication failed for user "pizza" at db.internal:5432')

    monkeypatch.setattr("pizzeria.health.connection.cursor", broken_cursor)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "failed", "broker": "ok", "redis": "ok"}
    assert b"OperationalError" not in response.content and b"db.internal" not in response.content


async def stream(client: AsyncClient):
    return await client.get("/kitchen/events/")


async def end(response) -> None:
    """Read the stream to its end (KITCHEN_SSE_MAX_SECONDS): its slot is released."""
    body = b"".join([chunk async for chunk in response.streaming_content])
    assert b"event: hello" in body


def test_open_display_streams_are_capped_per_user(settings):
    settings.KITCHEN_SSE_MAX_STREAMS_PER_USER = 2
    settings.KITCHEN_SSE_MAX_SECONDS = 0.2
    cook_user, manager_user = make_role_user("cook"), make_role_user("manager")

    async def scenario() -> None:
        cook, other = AsyncClient(), AsyncClient()
        await cook.aforce_login(cook_user)
        await other.aforce_login(manager_user)
        try:
            first, second = await stream(cook), await stream(cook)
            refused = await stream(cook)

            assert (first.status_code, second.status_code) == (200, 200)
            assert refused.status_code == 429 and refused["Retry-After"]
            assert "Too many open display streams" in refused.json()["detail"]
            managers = await stream(other)
            assert managers.status_code == 200  # the cap is per user

            await end(first)  # a display closes: its slot is free again
            await asyncio.sleep(0.1)  # the release runs off the event loop
            again = await stream(cook)
            assert again.status_code == 200
            for response in (second, again, managers):
                await end(response)
        finally:
            await close_hub()

    async_to_sync(scenario)()


def test_customers_get_no_stream_at_all(client):
    client.force_login(make_customer().user)
    assert client.get("/kitchen/events/").status_code == 403
