"""Order reads that take more than one line."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence

from django.contrib.auth import get_user_model
from django.db.models import CharField, Prefetch, QuerySet, Value

from orders.models import Customer, Order, OrderItem, Pizza, Size, Topping
from pizzeria.eventbus.events import DomainEvent
from pizzeria.eventbus.models import OutboxEvent

EVENT_STATUS = {
    "com.mariopizzeria.order.placed": ("placed", "Order placed"),
    "com.mariopizzeria.order.payment_processed": ("paid", "Payment received"),
    "com.mariopizzeria.order.cooking_started": ("cooking", "Cooking started"),
    "com.mariopizzeria.order.ready": ("ready", "Ready"),
    "com.mariopizzeria.order.out_for_delivery": ("out_for_delivery", "Out for delivery"),
    "com.mariopizzeria.order.delivered": ("delivered", "Delivered"),
    "com.mariopizzeria.order.cancelled": ("cancelled", "Cancelled"),
}
# Fallback when the outbox rows were purged by retention: the order's own timestamps.
_TIMESTAMPS = [
    ("placed_at", "placed_by", "com.mariopizzeria.order.placed"),
    ("paid_at", "paid_by", "com.mariopizzeria.order.payment_processed"),
    ("cooking_started_at", "cooking_started_by", "com.mariopizzeria.order.cooking_started"),
    ("ready_at", "ready_by", "com.mariopizzeria.order.ready"),
    ("out_for_delivery_at", "out_for_delivery_by", "com.mariopizzeria.order.out_for_delivery"),
    ("delivered_at", "delivered_by", "com.mariopizzeria.order.delivered"),
    ("cancelled_at", "cancelled_by", "com.mariopizzeria.order.cancelled"),
]


@dataclasses.dataclass(frozen=True)
class CustomerContact:
    name: str
    email: str
    phone: str


def customer_contact(*, customer_id: int) -> CustomerContact:
    customer = Customer.objects.select_related("user").get(pk=customer_id)
    return CustomerContact(name=customer.name, email=customer.email or customer.user.email, phone=customer.phone)


def customer_for_user(*, user) -> Customer | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        # Loaded with the API token (pizzeria.security.tokens), else one query; either way its
        # .user is this user.
        return user.customer
    except Customer.DoesNotExist:
        return None


def _items_prefetch() -> Prefetch:
    return Prefetch("items", queryset=OrderItem.objects.select_related("pizza", "size").order_by("pk"))


def order_get(*, order_id: int) -> Order:
    return Order.objects.select_related("customer__user").prefetch_related(_items_prefetch()).get(pk=order_id)


def order_items_known(*, order: Order, items: list[OrderItem]) -> None:
    """Remember `items` (saved, with pizza and size) as the order's items, as a prefetch would:
    `order.items.all()` then reads them without a query."""
    queryset = order.items.all()
    queryset._result_cache = list(items)
    queryset._prefetch_done = True
    order._prefetched_objects_cache = {**getattr(order, "_prefetched_objects_cache", {}), "items": queryset}


def order_list_for_customer(*, customer: Customer) -> QuerySet[Order]:
    return (
        Order.objects.filter(customer=customer)
        .prefetch_related(_items_prefetch())
        .order_by("-placed_at", "-id")
    )


def order_get_for_customer(*, customer: Customer, order_id: int) -> Order:
    """The customer's own order; raises Order.DoesNotExist for anybody else's (no existence leak)."""
    return order_list_for_customer(customer=customer).get(pk=order_id)


# What a customer sees instead of a staff username: the role that acted.
CUSTOMER_FACING_ROLE = {
    "com.mariopizzeria.order.cooking_started": "kitchen",
    "com.mariopizzeria.order.ready": "kitchen",
    "com.mariopizzeria.order.out_for_delivery": "driver",
    "com.mariopizzeria.order.delivered": "driver",
}


def actor_role(*, order: Order, event_type: str, actor: str) -> str:
    """"you" for the order's customer, else the role ("kitchen", "driver", "pizzeria").

    Staff usernames are staff's personal data (and a handle for social engineering); customers
    never see them.
    """
    if actor == order.customer.user.get_username():
        return "you"
    if event_type == "com.mariopizzeria.order.delivered" and order.fulfilment == Order.Fulfilment.PICKUP:
        return "pizzeria"
    return CUSTOMER_FACING_ROLE.get(event_type, "pizzeria")


def order_timeline(
    *, order: Order, for_customer: bool = False, events: Sequence[DomainEvent] | None = None
) -> list[dict]:
    """The order's status changes, oldest first: [{type, at, status, label, by?}].

    for_customer: `by` names the role that acted (see actor_role), not the staff username.
    events: every event of the order, when the caller holds them (default: `order.known_events`,
    set on the order just placed): they are what the outbox holds, so the timeline needs no query.
    """
    events = order.known_events if events is None else events
    if events is not None:
        rows = [(e.type, e.occurred_at, e.data()) for e in events]
    else:
        rows = [
            (row.type, row.occurred_at, row.payload)
            for row in OutboxEvent.objects.filter(aggregate_type="order", aggregate_id=str(order.pk)).order_by(
                "occurred_at", "aggregate_version"
            )
        ]
    timeline = []
    for event_type, at, payload in rows:
        status, label = EVENT_STATUS.get(event_type, ("", event_type.rsplit(".", 1)[-1]))
        entry = {"type": event_type, "at": at, "status": status, "label": label}
        by = payload.get("started_by") or payload.get("cancelled_by") or payload.get("driver")
        if by:
            entry["by"] = actor_role(order=order, event_type=event_type, actor=by) if for_customer else by
        timeline.append(entry)
    if timeline:
        return timeline
    for at_field, by_field, event_type in _TIMESTAMPS:
        at: dt.datetime | None = getattr(order, at_field)
        if at is None:
            continue
        status, label = EVENT_STATUS[event_type]
        entry = {"type": event_type, "at": at, "status": status, "label": label}
        if by := getattr(order, by_field):
            entry["by"] = actor_role(order=order, event_type=event_type, actor=by) if for_customer else by
        timeline.append(entry)
    return sorted(timeline, key=lambda e: e["at"])


@dataclasses.dataclass(frozen=True)
class MenuChoices:
    pizzas: dict[int, Pizza]  # by id
    sizes: dict[str, Size]  # by code
    toppings: dict[str, Topping]  # by code


def menu_choices(*, pizza_ids: Collection[int], topping_codes: Collection[str]) -> MenuChoices:
    """The active pizzas and toppings asked for, and every size, in one query (UNION ALL).

    Placing an order reads the menu on every request; three queries were a third of its budget.
    The instances carry what pricing, the event and the response use (deferred otherwise).
    """

    def part(queryset: QuerySet, kind: str, key: str, price: str) -> QuerySet:
        return (
            queryset.order_by()
            .annotate(kind=Value(kind, output_field=CharField()))
            .values_list("kind", "pk", key, price)
        )

    rows = part(Pizza.objects.filter(pk__in=list(pizza_ids), active=True), "pizza", "name", "base_price").union(
        part(Size.objects.all(), "size", "code", "multiplier"),
        part(Topping.objects.filter(code__in=list(topping_codes), active=True), "topping", "code", "price"),
        all=True,
    )
    choices = MenuChoices(pizzas={}, sizes={}, toppings={})
    for kind, pk, key, price in rows:
        if kind == "pizza":
            choices.pizzas[pk] = Pizza.from_db(rows.db, ["id", "name", "base_price"], [pk, key, price])
        elif kind == "size":
            choices.sizes[key] = Size.from_db(rows.db, ["id", "code", "multiplier"], [pk, key, price])
        else:
            choices.toppings[key] = Topping.from_db(rows.db, ["id", "code", "price"], [pk, key, price])
    return choices


def menu_get() -> dict:
    return {
        "pizzas": list(Pizza.objects.filter(active=True).order_by("name")),
        "sizes": list(Size.objects.order_by("multiplier", "code")),
        "toppings": list(Topping.objects.filter(active=True).order_by("name")),
    }


def drivers() -> list[str]:
    """Usernames of the active drivers (the dispatch display and the order admin offer them)."""
    users = get_user_model().objects.filter(groups__name="driver", is_active=True).order_by("username")
    return list(users.values_list("username", flat=True).distinct())


def orders_with_items(*, chunk_size: int = 500):
    """Every order with its items, oldest first, streamed in chunks (analytics rebuilds from it)."""
    return Order.objects.prefetch_related(_items_prefetch()).order_by("pk").iterator(chunk_size=chunk_size)
