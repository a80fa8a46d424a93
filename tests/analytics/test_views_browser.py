"""The dashboard in headless Chromium: charts drawn from seeded orders, the date filter redraws
them, a table downloads as CSV, and every file comes from our own server."""

import csv
import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from analytics.models import OrderFact
from orders import services
from tests.analytics.test_handlers import ANALYTICS
from tests.browser import needs_chromium, screenshot
from tests.capture import capture_events
from tests.factories import advance_order, make_menu, make_order, make_user

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-123456-xyz"


@pytest.fixture
def seeded_orders():
    menu = make_menu()

    def line(name, qty, toppings=()):
        return {
            "pizza": menu["pizzas"][name].pk,
            "size": "large",
            "toppings": list(toppings),
            "quantity": qty,
        }

    with capture_events(only=ANALYTICS):
        for _ in range(3):
            advance_order(make_order(items=[line("Diavola", 2, ["olives"])]), "delivered")
        advance_order(make_order(items=[line("Margherita", 1)]), "delivered")
        services.order_cancel(order_id=make_order(status="paid").pk, actor="staff", reason="Ordered twice")
        old = advance_order(make_order(items=[line("Marinara", 4)]), "paid")
    fact = OrderFact.objects.get(order_id=old.pk)
    fact.placed_at -= dt.timedelta(days=45)
    fact.save()
    return {"old_day": timezone.localdate(fact.placed_at)}


def login_as_manager(browser, base_url: str):
    user = make_user(username="manager1", password=PASSWORD, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base_url}/analytics/")
    page.fill("#id_username", "manager1")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/analytics/")
    return context, page


def chart(page, name: str) -> dict:
    return page.evaluate(
        """(name) => { const c = window.dashboardCharts[name];
             return {labels: c.data.labels, data: c.data.datasets.map(d => d.data), drawn: c.canvas.width > 0}; }""",
        name,
    )


def test_charts_filter_and_csv(browser, live_server, seeded_orders, tmp_path):
    context, page = login_as_manager(browser, live_server.url)
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.reload()
        page.wait_for_function("window.dashboardCharts && window.dashboardCharts['top-pizzas']")
        pizzas = chart(page, "top-pizzas")
        assert (
            pizzas["drawn"] and pizzas["labels"] == ["Diavola", "Margherita"] and pizzas["data"] == [[6, 1]]
        )
        revenue = chart(page, "revenue-per-day")
        assert len(revenue["labels"]) == 30 and revenue["labels"][-1] == timezone.localdate().isoformat()
        assert sum(revenue["data"][2]) == 5  # orders in the last 30 days (the old one is outside)
        assert sum(revenue["data"][1]) > 0  # the paid-then-cancelled order's refund
        screenshot(page, "dashboard-last-30-days")

        # the filter: only the old day → its pizza, and nothing of today's
        old = seeded_orders["old_day"].isoformat()
        page.fill("#id_start", old)
        page.fill("#id_end", old)
        page.click("#filter button[type=submit]")
        page.wait_for_url(f"**start={old}**")
        page.wait_for_function("window.dashboardCharts && window.dashboardCharts['top-pizzas']")
        assert chart(page, "top-pizzas")["labels"] == ["Marinara"]
        assert chart(page, "revenue-per-day")["labels"] == [old]
        assert page.locator("#kpi-orders").inner_text() == "1"
        screenshot(page, "dashboard-filtered")

        # the CSV of a table, for the period shown
        with page.expect_download() as info:
            page.locator("#card-top-pizzas h2 a", has_text="CSV").click()
        path = tmp_path / "top-pizzas.csv"
        info.value.save_as(path)
        assert list(csv.reader(path.open())) == [["Pizza", "Pizzas sold", "Orders"], ["Marinara", "4", "1"]]
    finally:
        context.close()
    ours = urlsplit(live_server.url).netloc
    assert any("/static/analytics/vendor/chartjs/chart.umd.min.js" in url for url in requested)
    assert [
        u for u in requested if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != ours
    ] == []
