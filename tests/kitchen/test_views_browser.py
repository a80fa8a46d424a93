"""The live kitchen and dispatch displays in headless Chromium (Debian's), driven by Playwright.

Orders are placed through the API; a real worker runs the handlers; the pages must change
without a reload. The worker runs with capacity 1 and the web server with capacity 2, so
the kitchen starts one order by itself and a cook has room to start one more by hand.
"""

import json
import time
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from simulation.workerproc import queues_purge
from tests.browser import needs_chromium
from tests.factories import make_customer, make_role_user
from tests.kitchen.conftest import one_margherita
from tests.worker import make_worker

PASSWORD = "pw-123456-xyz"
TIMEOUT_MS = 10_000

pytestmark = [pytest.mark.browser, pytest.mark.worker, needs_chromium]


@pytest.fixture(scope="module")
def live_server(asgi_live_server):
    """The pages as production serves them: uvicorn and pizzeria.livegate (tests/asgiserver.py)."""
    return asgi_live_server


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup, django_db_blocker):
    queues_purge()
    worker = make_worker(env={"KITCHEN_CAPACITY": "1"}).start()
    yield worker
    worker.stop()


@pytest.fixture
def staff_page(browser, live_server):
    contexts = []

    def open_as(role: str, path: str):
        make_role_user(role, password=PASSWORD)
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{live_server.url}{path}")  # → the login page, then back here
        page.fill("#id_username", role)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"**{path}")
        page.locator("#live-status.live").wait_for()  # the event stream is connected
        return page

    yield open_as
    for context in contexts:
        context.close()


def place_via_api(base_url: str, token: str, items: list[dict]) -> int:
    body = json.dumps({"items": items, "fulfilment": "delivery", "delivery_address": "12 Via Roma"}).encode()
    request = urllib.request.Request(
        f"{base_url}/api/orders/",
        data=body,
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())["id"]


def test_cook_sees_orders_arrive_and_move_live_then_a_driver_dispatches(
    kitchen_worker, kitchen_menu, live_server, staff_page, settings
):
    settings.KITCHEN_CAPACITY = 2  # the web server's; the worker's is 1
    token = Token.objects.create(user=make_customer(default_address="12 Via Roma").user).key
    items = one_margherita(kitchen_menu, toppings=["mushrooms"])
    cook = staff_page("cook", "/kitchen/")
    ticket = lambda column, order_id: cook.locator(f"#col-{column} #ticket-{order_id}")  # noqa: E731

    # an order placed through the API appears on the open display, already cooking
    placed = time.monotonic()
    a = place_via_api(live_server.url, token, items)
    ticket("cooking", a).wait_for()
    latency_ms = (time.monotonic() - placed) * 1000
    print(f"\nAPI order (commit) -> visible on the kitchen display: {latency_ms:.0f} ms")
    assert latency_ms < 2000
    assert "1 × Medium Margherita + mushrooms" in ticket("cooking", a).inner_text()

    # the next one waits (the kitchen started one by itself, capacity 1 there)
    b = place_via_api(live_server.url, token, items)
    ticket("queued", b).wait_for()

    # a cook starts it by hand while there is room…
    ticket("queued", b).get_by_role("button", name="Start").click()
    ticket("cooking", b).wait_for()
    cook.get_by_text(f"Order #{b} is cooking.").wait_for()
    # …and is refused when there is none
    c = place_via_api(live_server.url, token, items)
    ticket("queued", c).get_by_role("button", name="Start").click()
    cook.get_by_text("Start: Kitchen at capacity: 2 of 2 tickets cooking").wait_for()
    assert ticket("queued", c).is_visible()

    # ready moves tickets across; freeing the last slot starts the queued one by itself
    ticket("cooking", a).get_by_role("button", name="Ready").click()
    ticket("ready", a).wait_for()
    ticket("cooking", b).get_by_role("button", name="Ready").click()
    ticket("ready", b).wait_for()
    ticket("cooking", c).wait_for()  # OrderReady's handler on the worker started it; no reload

    # a driver takes order A out and delivers it; the cook's display drops it from "ready" live
    driver = staff_page("driver", "/kitchen/dispatch/")
    card = driver.locator(f"#col-delivery #dispatch-{a}")
    card.locator("select[name=driver]").select_option("driver")
    card.get_by_role("button", name="Out for delivery").click()
    driver.locator(f"#col-out #dispatch-{a}").wait_for()
    driver.get_by_text(f"Order #{a} is out for delivery with driver.").wait_for()
    ticket("ready", a).wait_for(state="detached")
    driver.locator(f"#col-out #dispatch-{a}").get_by_role("button", name="Delivered").click()
    driver.get_by_text(f"Order #{a} is done.").wait_for()
    assert driver.locator(f"#dispatch-{a}").count() == 0

    from orders.models import Order

    assert Order.objects.get(pk=a).status == "delivered"
