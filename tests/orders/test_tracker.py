"""The customer's tracker: token-guarded, shows only this order, follows the order's changes."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient
from rest_framework.authtoken.models import Token

from notifications import messages
from orders import services
from orders.events import OrderPlaced
from orders.tracker.live import order_channel
from orders.tracker.selectors import street_only
from orders.tracker.tokens import tracker_path, tracker_token
from pizzeria.livehub import close_hub
from tests.capture import capture_events
from tests.factories import advance_order, make_customer, make_menu, make_order

pytestmark = pytest.mark.django_db


def place_via_api(client, *, notes: str = "") -> dict:
    menu = make_menu()
    customer = make_customer(default_address="12 Via Roma, Springfield 12345")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=customer.user).key}")
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
        "notes": notes,
    }
    with capture_events(run_handlers=False):
        response = client.post("/api/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


def test_the_api_returns_a_tracker_url_that_opens_the_orders_page(api, client):
    order = place_via_api(api)

    assert order["tracker_url"] == f"http://testserver{tracker_path(order_id=order['id'])}"
    page = client.get(order["tracker_url"])
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Order #{order['id']}" in html
    assert "2 × Large Margherita + mushrooms" in html and "$31.18" in html
    assert 'data-step="placed"' in html and 'class="current" data-step="placed"' in html
    assert page["Cache-Control"] == "private, no-store" and page["Referrer-Policy"] == "no-referrer"


def test_the_page_reveals_nothing_beyond_the_order(api, client):
    order = place_via_api(api, notes="ring twice, code 4711")
    services.order_pay(order_id=order["id"], method="card", reference="pay-ref-9", actor="cashier-anna")
    services.order_start_cooking(order_id=order["id"], actor="cook-luigi")
    services.order_mark_ready(order_id=order["id"], actor="cook-luigi")
    services.order_send_out(order_id=order["id"], actor="dispatcher-bea", driver="driver-marco")

    html = client.get(order["tracker_url"]).content.decode()

    assert "Delivery to 12 Via Roma" in html  # the street…
    for secret in (
        "Springfield",
        "12345",
        "driver-marco",
        "cook-luigi",
        "cashier-anna",
        "dispatcher-bea",
        "pay-ref-9",
        "4711",
        "+15005550006",
        "@example.com",
    ):
        assert secret not in html, secret  # …and nothing else about the customer or the staff


def test_a_wrong_token_is_404_on_every_tracker_url(client):
    order = make_order()
    other = make_order()
    good = tracker_token(order_id=order.pk)
    for token in ("0" * 32, tracker_token(order_id=other.pk), good[:-1], good + "0", "../" + good):
        for suffix in ("", "status/", "events/"):
            assert client.get(f"/track/{order.pk}/{token}/{suffix}").status_code == 404, (token, suffix)
    # an id beyond any row, even with a token computed for it, is a plain 404
    huge = 2**63 + 5
    assert client.get(f"/track/{huge}/{tracker_token(order_id=huge)}/").status_code == 404


def test_the_status_fragment_follows_the_lifecycle(client):
    order = make_order(fulfilment="pickup")
    url = tracker_path(order_id=order.pk) + "status/"

    def current() -> str:
        html = client.get(url).content.decode()
        return (
            html.split('class="current" data-step="')[1].split('"')[0] if 'class="current"' in html else html
        )

    assert current() == "placed"
    order = advance_order(order, "cooking")
    assert current() == "cooking"
    order = advance_order(order, "ready")
    assert current() == "ready"
    html = client.get(url).content.decode()
    assert "Ready for pickup" in html and 'data-final="false"' in html
    advance_order(order, "delivered")
    html = client.get(url).content.decode()
    assert "Collected — enjoy!" in html and 'data-final="true"' in html and 'class="current"' not in html


def test_a_cancelled_paid_order_says_so_and_promises_the_refund(client):
    order = make_order(status="paid")
    services.order_cancel(order_id=order.pk, actor="staff", reason="Out of mozzarella")
    html = client.get(tracker_path(order_id=order.pk)).content.decode()
    assert 'data-status="cancelled"' in html
    assert "Out of mozzarella" in html and "refunded" in html


def test_the_event_stream_relays_only_this_orders_changes(settings, django_capture_on_commit_callbacks):
    settings.TRACKER_SSE_MAX_SECONDS = 1.5
    order, other = make_order(), make_order()

    async def scenario() -> bytes:
        try:
            response = await AsyncClient().get(tracker_path(order_id=order.pk) + "events/")
            assert response["Content-Type"] == "text/event-stream"
            chunks = aiter(response.streaming_content)  # type: ignore[attr-defined]  # a StreamingHttpResponse
            body = b""
            while b"event: hello" not in body:  # hello: the subscription is live
                body += await anext(chunks)

            def changes() -> None:
                with django_capture_on_commit_callbacks(execute=True):
                    advance_order(other, "delivered")  # five changes of another order: not a word of them
                with django_capture_on_commit_callbacks(execute=True):
                    advance_order(order, "cooking")

            await sync_to_async(changes)()
            async for chunk in chunks:  # ends after TRACKER_SSE_MAX_SECONDS
                body += chunk
            return body
        finally:
            await close_hub()

    body = async_to_sync(scenario)()
    assert body.count(b"event: changed") == 2  # paid, then cooking
    assert b"event: changed\ndata: {}\n" in body  # "something changed": no content travels


def test_a_finished_orders_stream_tells_the_browser_to_stop_reconnecting(client):
    order = make_order(status="delivered")
    assert client.get(tracker_path(order_id=order.pk) + "events/").status_code == 204


def test_every_order_change_is_published_on_its_own_channel_after_commit(
    django_capture_on_commit_callbacks, settings
):
    from pizzeria.redisclient import redis_client

    order = make_order()
    pubsub = redis_client(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(order_channel(order_id=order.pk))
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            advance_order(order, "cooking")
        assert pubsub.get_message(timeout=0.2) is None  # nothing before the commit
        for callback in callbacks:
            callback()
        notes = []
        while (message := pubsub.get_message(timeout=1.0)) is not None:
            notes.append(message)
        assert len(notes) == 2  # paid, cooking
    finally:
        pubsub.close()


def test_placing_an_order_publishes_no_note_no_page_could_hear(django_capture_on_commit_callbacks, settings):
    # The tracker's link comes with the answer to the order request: nothing follows the order
    # before it, so its placement costs no Redis round trip. Its first change is published.
    from pizzeria.redisclient import redis_client

    pubsub = redis_client(settings.REDIS_URL).pubsub()
    pubsub.psubscribe("pizzeria:order:*")

    def notes() -> list[str]:
        got = []
        while (message := pubsub.get_message(timeout=0.5)) is not None:
            if message["type"] == "pmessage":
                got.append(message["channel"].decode())
        return got

    try:
        assert pubsub.get_message(timeout=2.0)["type"] == "psubscribe"  # listening from here on
        with django_capture_on_commit_callbacks(execute=True):
            order = make_order()
        assert notes() == []
        with django_capture_on_commit_callbacks(execute=True):
            advance_order(order, "paid")
        assert notes() == [order_channel(order_id=order.pk)]
    finally:
        pubsub.close()


def test_confirmation_sms_and_email_link_the_tracker(settings):
    settings.PUBLIC_BASE_URL = "https://pizza.example"
    order = make_order()
    event = OrderPlaced(
        order_id=order.pk,
        customer_id=order.customer_id,
        customer_phone=order.phone,
        items=[],
        total_amount=order.total_amount,
        fulfilment="delivery",
        delivery_address=order.delivery_address,
        estimated_delivery_time=order.estimated_delivery_time,
    )
    link = f"https://pizza.example{tracker_path(order_id=order.pk)}"
    context = messages.order_placed_context(event)

    assert f"Track it live: {link}" in messages.render_sms("order_confirmed", context).body
    email = messages.render_email("order_confirmed", context)
    assert link in email.body and f'href="{link}"' in email.html


@pytest.mark.parametrize(
    "address, street",
    [
        ("12 Via Roma, Springfield 12345", "12 Via Roma"),
        ("Flat 3\n7 Elm Road\nLeeds", "Flat 3"),
        ("7 Elm Road; buzz 4", "7 Elm Road"),
        ("", ""),
    ],
)
def test_only_the_street_of_an_address_is_shown(address, street):
    assert street_only(address) == street
