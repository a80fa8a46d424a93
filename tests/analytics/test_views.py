"""The manager's dashboard: permission, figures (revenue net of refunds), date filter, CSV, no
writes during a page view."""

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import DailyRollup, OrderFact
from eventbus.models import Delivery
from orders import services
from tests.analytics.test_handlers import ANALYTICS
from tests.capture import capture_events
from tests.factories import make_menu, make_order, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    user = make_user(username="mgr", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_dashboard", content_type__app_label="analytics")
    )
    client.force_login(user)
    return user


def csv_rows(client, name: str, query: str = "") -> list[list[str]]:
    response = client.get(f"/analytics/csv/{name}.csv?{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def shift(order_id: int, *, days: int = 0, hour: int | None = None) -> None:
    """Move an order's fact to another day/hour (the pizzeria's time zone)."""
    fact = OrderFact.objects.get(order_id=order_id)
    placed = timezone.localtime(fact.placed_at) - dt.timedelta(days=days)
    if hour is not None:
        placed = placed.replace(hour=hour)
    fact.placed_at = placed
    fact.save()


def test_anonymous_go_to_login_staff_without_the_permission_get_403(client):
    assert client.get("/analytics/").status_code == 302
    client.force_login(make_user(is_staff=True))
    assert client.get("/analytics/").status_code == 403
    assert client.get("/analytics/csv/top-pizzas.csv").status_code == 403


def test_the_seeded_manager_group_has_the_dashboard_permission(client):
    call_command("seed", no_users=True)
    user = make_user(is_staff=True)
    user.groups.add(Group.objects.get(name="manager"))
    client.force_login(user)
    assert client.get("/analytics/").status_code == 200
    cook = make_user(is_staff=True)
    cook.groups.add(Group.objects.get(name="cook"))
    client.force_login(cook)
    assert client.get("/analytics/").status_code == 403


def test_revenue_is_net_of_refunds(client, manager):
    with capture_events(only=ANALYTICS):
        kept = make_order(status="paid")
        refunded = make_order(status="paid")
        services.order_cancel(order_id=refunded.pk, actor="staff", reason="Oven broke")
        make_order()  # unpaid: no revenue yet

    today = timezone.localdate().isoformat()
    rows = {r[0]: r for r in csv_rows(client, "revenue-per-day")[1:]}
    assert rows[today][1:5] == ["3", "1", str(kept.total_amount), str(refunded.total_amount)]
    page = client.get("/analytics/").content.decode()
    assert f'id="kpi-revenue">${kept.total_amount}<' in page
    # the stored rollup agrees
    assert call_command("analytics_rebuild", "--rollups-only") is None
    rollup = DailyRollup.objects.get(day=timezone.localdate())
    assert (rollup.revenue, rollup.refunds) == (kept.total_amount, refunded.total_amount)


def test_a_page_view_writes_nothing(client, manager):
    with capture_events(only=ANALYTICS):
        make_order(status="delivered")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/analytics/").status_code == 200
        assert client.get("/analytics/csv/revenue-per-day.csv").status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert [w for w in writes if "analytics_" in w] == []
    assert DailyRollup.objects.count() == 0


def test_the_date_filter_changes_the_figures(client, manager):
    with capture_events(only=ANALYTICS):
        recent = make_order(status="paid")
        old = make_order(status="paid")
    shift(old.pk, days=40)

    def orders(query: str) -> int:
        return sum(int(r[1]) for r in csv_rows(client, "revenue-per-day", query)[1:])

    assert orders("") == 1  # the last 30 days
    old_day = timezone.localdate() - dt.timedelta(days=40)
    assert orders(f"start={old_day}&end={old_day}") == 1
    assert orders(f"start={old_day}") == 2
    days = csv_rows(client, "revenue-per-day", f"start={old_day}&end={old_day + dt.timedelta(days=2)}")[1:]
    assert [r[0] for r in days] == [str(old_day + dt.timedelta(days=n)) for n in range(3)]
    assert recent.pk != old.pk


@pytest.mark.parametrize(
    "query, message",
    [
        ("start=2026-13-01", "Enter a valid date"),
        ("start=2026-02-10&end=2026-02-01", "must not be after"),
        ("start=2020-01-01&end=2026-01-01", "at most 366 days"),
        ("day=yesterday", "Enter a valid date"),
    ],
)
def test_bad_dates_are_a_400_with_a_message(client, manager, query, message):
    page = client.get(f"/analytics/?{query}")
    assert page.status_code == 400 and message in page.content.decode()
    assert client.get(f"/analytics/csv/times.csv?{query}").status_code == 400


def test_an_unknown_table_is_404(client, manager):
    assert client.get("/analytics/csv/passwords.csv").status_code == 404


def test_orders_per_hour_of_the_chosen_day(client, manager):
    with capture_events(only=ANALYTICS):
        a, b, c = make_order(), make_order(), make_order()
    shift(a.pk, days=1, hour=12)
    shift(b.pk, days=1, hour=12)
    shift(c.pk, days=1, hour=19)
    yesterday = timezone.localdate() - dt.timedelta(days=1)

    rows = csv_rows(client, "orders-per-hour", f"day={yesterday}")[1:]
    assert len(rows) == 24
    assert {r[0]: int(r[1]) for r in rows if r[1] != "0"} == {"12:00": 2, "19:00": 1}
    assert sum(int(r[1]) for r in csv_rows(client, "orders-per-hour")[1:]) == 0  # today: none left


def test_top_pizzas_and_toppings_count_pizzas_sold_not_cancelled(client, manager):
    menu = make_menu()

    def pick(name, toppings, qty):
        return {"pizza": menu["pizzas"][name].pk, "size": "medium", "toppings": toppings, "quantity": qty}

    with capture_events(only=ANALYTICS):
        make_order(items=[pick("Diavola", ["olives"], 3), pick("Margherita", [], 1)])
        make_order(items=[pick("Margherita", ["olives", "mushrooms"], 1)])
        gone = make_order(items=[pick("Marinara", ["mushrooms"], 5)])
        services.order_cancel(order_id=gone.pk, actor="staff", reason="=HYPERLINK(evil)")

    assert csv_rows(client, "top-pizzas")[1:] == [["Diavola", "3", "1"], ["Margherita", "2", "2"]]
    assert csv_rows(client, "top-toppings")[1:] == [["olives", "4"], ["mushrooms", "1"]]
    # a customer's reason cannot become a spreadsheet formula
    assert csv_rows(client, "cancellations")[1:] == [["'=HYPERLINK(evil)", "1", "0"]]


def test_the_bus_table_counts_deliveries_by_handler_and_status(client, manager):
    with capture_events(run_handlers=False) as captured:
        make_order()
    dead = captured.deliveries("analytics.handlers.order_metrics")[0]
    Delivery.objects.filter(pk=dead.pk).update(status="dead")

    rows = {r[0]: r for r in csv_rows(client, "deliveries")}
    header = rows.pop("Handler")
    assert rows["analytics.handlers.order_metrics"][header.index("dead")] == "1"
    assert rows["kitchen.handlers.ticket_create"][header.index("pending")] == "1"
    page = client.get("/analytics/").content.decode()
    assert 'id="kpi-dead">1<' in page
