"""The manager's dashboard: permission, figures (revenue net of refunds), date filter, CSV, no
writes during a page view, and `analytics_rebuild`."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import DailyRollup, OrderFact
from analytics.selectors import percentile
from eventbus.models import Delivery
from orders import services
from tests.analytics.test_handlers import ANALYTICS
from tests.capture import capture_events
from tests.factories import advance_order, make_menu, make_order, make_user

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


def test_times_and_on_time_rate():
    from analytics.selectors import on_time, times

    now = timezone.now()
    facts = [
        {
            "fulfilment": "delivery",
            "placed_at": now,
            "preparation_seconds": 60.0 * n,
            "delivery_seconds": 600.0,
            "ready_at": now + dt.timedelta(minutes=n),
            "delivered_at": now + dt.timedelta(minutes=30 + n),
            "promised_at": now + dt.timedelta(minutes=35),
        }
        for n in range(1, 11)
    ]
    prep = times(facts=facts).rows[0]
    assert prep[1:] == [10, 5.5, 5.5, 9.1]  # minutes: average, p50, p90 of 1…10
    delivery = on_time(facts=facts).rows[0]
    assert delivery[1:] == [10, 5, 5, 50.0]  # 31…35 on time, 36…40 late


def test_percentile():
    assert percentile([], 90) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0


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


def test_analytics_rebuild_recomputes_facts_and_rollups_idempotently():
    # placed_at too, but the event's time is a few ms after the order row's: compared apart below
    columns = [
        "order_id",
        "total_amount",
        "item_count",
        "fulfilment",
        "paid_amount",
        "ready_at",
        "preparation_seconds",
        "delivered_at",
        "delivery_seconds",
        "cancelled_at",
        "cancel_reason",
        "promised_at",
        "items",
    ]
    with capture_events(only=ANALYTICS):
        advance_order(make_order(), "delivered")
        advance_order(make_order(fulfilment="pickup", delivery_address=""), "delivered")
        services.order_cancel(order_id=make_order(status="paid").pk, actor="staff", reason="Changed mind")
    from_events = list(OrderFact.objects.order_by("order_id").values_list(*columns))
    placed_from_events = list(OrderFact.objects.order_by("order_id").values_list("placed_at", flat=True))
    OrderFact.objects.all().delete()
    DailyRollup.objects.create(day=dt.date(2001, 1, 1), orders=99)  # a day with no orders any more

    call_command("analytics_rebuild")
    first = list(OrderFact.objects.order_by("order_id").values_list(*columns))
    rollups = list(DailyRollup.objects.values_list("day", "orders", "cancelled", "revenue", "refunds"))
    call_command("analytics_rebuild")

    assert first == from_events  # the orders' rows give what the events gave
    placed = OrderFact.objects.order_by("order_id").values_list("placed_at", flat=True)
    assert all(abs(a - b) < dt.timedelta(seconds=1) for a, b in zip(placed, placed_from_events, strict=True))
    assert list(OrderFact.objects.order_by("order_id").values_list(*columns)) == first
    assert (
        list(DailyRollup.objects.values_list("day", "orders", "cancelled", "revenue", "refunds")) == rollups
    )
    ((day, orders, cancelled, revenue, refunds),) = rollups
    assert (day, orders, cancelled) == (timezone.localdate(), 3, 1)
    assert refunds == Decimal("31.18") and revenue == Decimal("62.36")
