"""The tracker in headless Chromium on a phone-sized screen: it moves as staff move the order."""

import json
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from orders import services
from simulation.workerproc import queues_purge
from tests.browser import needs_chromium, screenshot
from tests.factories import make_customer, make_menu

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def live_server(asgi_live_server):
    """The pages as production serves them: uvicorn and pizzeria.livegate (tests/asgiserver.py)."""
    return asgi_live_server


PHONE = {"width": 390, "height": 844}


@pytest.fixture
def no_stale_messages():
    # Orders placed here publish deliveries nobody consumes (no worker): leave the queues clean.
    queues_purge()
    yield
    queues_purge()


def place(base_url: str) -> dict:
    menu = make_menu()
    token = Token.objects.create(user=make_customer(default_address="12 Via Roma, Springfield").user).key
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
    }
    request = urllib.request.Request(
        f"{base_url}/api/orders/",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_tracker_advances_live_without_a_reload(browser, live_server, no_stale_messages):
    order = place(live_server.url)
    context = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(order["tracker_url"])
        page.locator("#live-status.live").wait_for()
        page.evaluate("window.loadedOnce = true")  # gone if the page reloads
        assert page.locator("#headline").inner_text() == "Order placed"
        screenshot(page, "tracker-1-placed")

        step = lambda name, state: page.locator(f'li.{state}[data-step="{name}"]')  # noqa: E731
        services.order_start_cooking(order_id=order["id"], actor="cook")
        step("cooking", "current").wait_for()
        assert page.locator("#headline").inner_text() == "In the oven"
        services.order_mark_ready(order_id=order["id"], actor="cook")
        step("ready", "current").wait_for()
        services.order_send_out(order_id=order["id"], actor="driver", driver="driver")
        step("out_for_delivery", "current").wait_for()
        assert "Estimated delivery" in page.locator("#eta").inner_text()
        screenshot(page, "tracker-2-out-for-delivery")
        services.order_mark_delivered(order_id=order["id"], actor="driver")
        page.get_by_text("Delivered — enjoy!").wait_for()
        page.locator("#live-status", has_text="done").wait_for()  # the stream is closed: nothing more to come
        screenshot(page, "tracker-3-delivered")

        assert page.evaluate("window.loadedOnce") is True
        assert page.locator("li.done").count() == 5
        # a phone-sized page: nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


def test_the_tracker_reconnects_when_its_stream_ends(browser, live_server, no_stale_messages, settings):
    settings.TRACKER_SSE_MAX_SECONDS = 1  # the server ends each stream after a second
    order = place(live_server.url)
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(10_000)
    try:
        page.goto(order["tracker_url"])
        page.wait_for_function("Number(document.getElementById('tracker').dataset.connections) >= 2")
        services.order_start_cooking(order_id=order["id"], actor="cook")
        # heard on a later connection, or caught up by its first re-read: live either way
        page.locator('li.current[data-step="cooking"]').wait_for()
    finally:
        page.close()


def test_a_wrong_token_is_a_404_page(browser, live_server, no_stale_messages):
    order = place(live_server.url)
    page = browser.new_page()
    try:
        response = page.goto(order["tracker_url"].rstrip("/")[:-4] + "beef/")
        assert response.status == 404
        assert "Order #" not in page.content()
    finally:
        page.close()
