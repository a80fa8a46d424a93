"""The manager's dashboard, read-only: every figure is a Table, drawn as a chart and offered as CSV.

Past days come from the daily rollups (beat, `analytics_rebuild`); a day without a rollup yet, and
today, are computed from the fact rows on the fly, never written during a page view.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections import Counter, defaultdict
from decimal import Decimal
from typing import cast

from django.db.models import Avg, Count, Min, Q, QuerySet, Sum
from django.utils import timezone

from analytics.models import DailyRollup, OrderFact
from eventbus.models import Delivery
from orders.models import Order

OPEN = (Delivery.Status.PENDING, Delivery.Status.RUNNING, Delivery.Status.RETRYING)
STATUSES = [s.value for s in Delivery.Status]
TOP = 10
CENT = Decimal("0.01")


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[list]

    def as_json(self) -> dict:
        return {
            "title": self.title,
            "columns": self.columns,
            "rows": [[_plain(v) for v in r] for r in self.rows],
        }


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _minutes(seconds: float | None) -> float | None:
    return round(seconds / 60, 1) if seconds is not None else None


def percentile(values: list[float], q: int) -> float | None:
    """The q-th percentile (linear between closest ranks); None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a day in the pizzeria's time zone (settings.TIME_ZONE)."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=start.tzinfo)


def rollup_values(*, day: dt.date) -> dict:
    """One day's rollup computed from the fact rows, without writing anything.

    Revenue is net of refunds: an order paid and then cancelled is owed back (refund due), so its
    payment counts under `refunds`, not `revenue`.
    """
    start, end = day_bounds(day)
    agg = OrderFact.objects.filter(placed_at__gte=start, placed_at__lt=end).aggregate(
        orders=Count("pk"),
        cancelled=Count("pk", filter=Q(cancelled_at__isnull=False)),
        revenue=Sum("paid_amount", filter=Q(cancelled_at__isnull=True)),
        refunds=Sum("paid_amount", filter=Q(cancelled_at__isnull=False)),
        average_order_value=Avg("total_amount", filter=Q(cancelled_at__isnull=True)),
        average_preparation_seconds=Avg("preparation_seconds"),
        average_delivery_seconds=Avg("delivery_seconds"),
    )
    aov = agg["average_order_value"]
    return {
        **agg,
        "revenue": agg["revenue"] or Decimal("0"),
        "refunds": agg["refunds"] or Decimal("0"),
        "average_order_value": Decimal(aov).quantize(CENT) if aov is not None else None,
    }


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _facts(start: dt.date, end: dt.date) -> list[dict]:
    lo, _ = day_bounds(start)
    _, hi = day_bounds(end)
    return cast(list[dict], list(OrderFact.objects.filter(placed_at__gte=lo, placed_at__lt=hi).values()))


def orders_per_hour(*, day: dt.date) -> Table:
    counts: Counter[int] = Counter()
    cancelled: Counter[int] = Counter()
    for placed_at, cancelled_at in _facts_of_day(day):
        hour = timezone.localtime(placed_at).hour
        counts[hour] += 1
        cancelled[hour] += cancelled_at is not None
    rows = [[f"{h:02d}:00", counts[h], cancelled[h]] for h in range(24)]
    return Table(
        "orders-per-hour", f"Orders per hour on {day.isoformat()}", ["Hour", "Orders", "Cancelled"], rows
    )


def _facts_of_day(day: dt.date) -> QuerySet[OrderFact, tuple[dt.datetime | None, dt.datetime | None]]:
    lo, hi = day_bounds(day)
    return OrderFact.objects.filter(placed_at__gte=lo, placed_at__lt=hi).values_list(
        "placed_at", "cancelled_at"
    )


def revenue_per_day(*, start: dt.date, end: dt.date) -> Table:
    today = timezone.localdate()
    stored = {r.day: r for r in DailyRollup.objects.filter(day__gte=start, day__lte=end)}
    rows = []
    for day in _days(start, end):
        row = stored.get(day)
        values = rollup_values(day=day) if row is None or day >= today else _stored(row)
        rows.append(
            [
                day,
                values["orders"],
                values["cancelled"],
                values["revenue"],
                values["refunds"],
                values["average_order_value"],
            ]
        )
    return Table(
        "revenue-per-day",
        "Revenue per day, net of refunds",
        ["Day", "Orders", "Cancelled", "Revenue", "Refunds", "Average order"],
        rows,
    )


def _stored(row: DailyRollup) -> dict:
    return {f: getattr(row, f) for f in ("orders", "cancelled", "revenue", "refunds", "average_order_value")}


def _finish(fact: dict) -> dt.datetime | None:
    """When the order was done for the customer: delivered, or ready for pickup."""
    return fact["delivered_at"] if fact["fulfilment"] == Order.Fulfilment.DELIVERY else fact["ready_at"]


def times(*, facts: list[dict]) -> Table:
    measures = {
        "Preparation (oven to ready)": [f["preparation_seconds"] for f in facts],
        "Delivery (out to door)": [f["delivery_seconds"] for f in facts],
        "Total (placed to done)": [
            (_finish(f) - f["placed_at"]).total_seconds() if _finish(f) and f["placed_at"] else None
            for f in facts
        ],
    }
    rows = []
    for label, raw in measures.items():
        values = sorted(v for v in raw if v is not None)
        mean = statistics.fmean(values) if values else None
        rows.append(
            [
                label,
                len(values),
                _minutes(mean),
                _minutes(percentile(values, 50)),
                _minutes(percentile(values, 90)),
            ]
        )
    return Table(
        "times",
        "Preparation and delivery times (minutes)",
        ["Measure", "Orders", "Average", "p50", "p90"],
        rows,
    )


def on_time(*, facts: list[dict]) -> Table:
    rows = []
    for fulfilment, label in (
        ("delivery", "Delivery (at the door by the promised time)"),
        ("pickup", "Pickup (ready by the promised time)"),
    ):
        done = [f for f in facts if f["fulfilment"] == fulfilment and _finish(f) and f["promised_at"]]
        punctual = sum(_finish(f) <= f["promised_at"] for f in done)
        rate = round(100 * punctual / len(done), 1) if done else None
        rows.append([label, len(done), punctual, len(done) - punctual, rate])
    return Table(
        "on-time",
        "On time against the promised time",
        ["Orders", "Finished", "On time", "Late", "On-time rate %"],
        rows,
    )


def top_items(*, facts: list[dict]) -> tuple[Table, Table]:
    pizzas: Counter[str] = Counter()
    toppings: Counter[str] = Counter()
    pizza_orders: Counter[str] = Counter()
    for fact in facts:
        if fact["cancelled_at"] is not None:
            continue
        for item in fact["items"] or []:
            pizzas[item["pizza"]] += item["quantity"]
            for code in item.get("toppings", []):
                toppings[code] += item["quantity"]
        for name in {item["pizza"] for item in fact["items"] or []}:
            pizza_orders[name] += 1
    return (
        Table(
            "top-pizzas",
            "Top pizzas",
            ["Pizza", "Pizzas sold", "Orders"],
            [[name, n, pizza_orders[name]] for name, n in pizzas.most_common(TOP)],
        ),
        Table(
            "top-toppings",
            "Top toppings",
            ["Topping", "Pizzas with it"],
            [[code, n] for code, n in toppings.most_common(TOP)],
        ),
    )


def cancellations(*, facts: list[dict]) -> Table:
    reasons: Counter[str] = Counter()
    refunds: dict[str, Decimal] = defaultdict(Decimal)
    for fact in facts:
        if fact["cancelled_at"] is None:
            continue
        reason = (fact["cancel_reason"] or "").strip() or "(no reason given)"
        reasons[reason] += 1
        refunds[reason] += fact["paid_amount"] or Decimal("0")
    rows = [[reason, n, refunds[reason]] for reason, n in reasons.most_common()]
    return Table("cancellations", "Cancellations by reason", ["Reason", "Orders", "Refunds due"], rows)


def deliveries() -> Table:
    """The event bus now (not filtered by date): deliveries by handler and status."""
    grid: dict[str, Counter] = {}
    for row in Delivery.objects.values("handler", "status").annotate(n=Count("pk")).order_by():
        grid.setdefault(row["handler"], Counter())[row["status"]] = row["n"]
    rows = [
        [handler, *(grid[handler][s] for s in STATUSES), sum(grid[handler].values())]
        for handler in sorted(grid)
    ]
    return Table(
        "deliveries",
        "Event bus deliveries by handler and status (now)",
        ["Handler", *STATUSES, "Total"],
        rows,
    )


def bus_health() -> dict:
    oldest = Delivery.objects.filter(status__in=OPEN).aggregate(first=Min("created_at"))["first"]
    return {
        "dead": Delivery.objects.filter(status=Delivery.Status.DEAD).count(),
        "open": Delivery.objects.filter(status__in=OPEN).count(),
        "oldest_open_seconds": (timezone.now() - oldest).total_seconds() if oldest else None,
    }


def dashboard(*, start: dt.date, end: dt.date, day: dt.date) -> dict:
    facts = _facts(start, end)
    per_hour = orders_per_hour(day=day)
    revenue = revenue_per_day(start=start, end=end)
    durations = times(facts=facts)
    punctuality = on_time(facts=facts)
    pizzas, toppings = top_items(facts=facts)
    tables = [
        per_hour,
        revenue,
        durations,
        punctuality,
        pizzas,
        toppings,
        cancellations(facts=facts),
        deliveries(),
    ]
    preparation = durations.rows[0]  # [label, orders, average, p50, p90]
    finished = sum(row[1] for row in punctuality.rows)
    punctual = sum(row[2] for row in punctuality.rows)
    summary = {
        "orders": sum(row[1] for row in revenue.rows),
        "revenue": sum((row[3] for row in revenue.rows), Decimal("0")),
        "refunds": sum((row[4] for row in revenue.rows), Decimal("0")),
        "prep_average": preparation[2],
        "prep_p90": preparation[4],
        "on_time_rate": round(100 * punctual / finished, 1) if finished else None,
        **bus_health(),
    }
    return {"tables": {t.name: t for t in tables}, "summary": summary}
