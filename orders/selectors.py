"""Order reads that take more than one line."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator, Sequence

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import CharField, Prefetch, QuerySet, Value

from eventbus.events import DomainEvent
from eventbus.models import OutboxEvent
from orders import events
from orders.models import Customer, Order, OrderItem, Pizza, Size, Topping


@dataclasses.dataclass(frozen=True)
class TimelineStep:
    """How the timeline reads one order event."""

    event: type[DomainEvent]
    status: str  # the Order.Status it brings
    label: str
    column: str  # the order's own <column>_at / <column>_by, kept when the outbox rows are purged
    role: str = "pizzeria"  # who acted, as the customer sees it (actor_role)


TIMELINE_STEPS = (
    TimelineStep(events.OrderPlaced, Order.Status.PLACED, "Order placed", "placed"),
    TimelineStep(events.PaymentProcessed, Order.Status.PAID, "Payment received", "paid"),
    TimelineStep(
        events.OrderCookingStarted, Order.Status.COOKING, "Cooking started", "cooking_started", "kitchen"
    ),
    TimelineStep(events.OrderReady, Order.Status.READY, "Ready", "ready", "kitchen"),
    TimelineStep(
        events.OrderOutForDelivery,
        Order.Status.OUT_FOR_DELIVERY,
        "Out for delivery",
        "out_for_delivery",
        "driver",
    ),
    TimelineStep(events.OrderDelivered, Order.Status.DELIVERED, "Delivered", "delivered", "driver"),
    TimelineStep(events.OrderCancelled, Order.Status.CANCELLED, "Cancelled", "cancelled"),
)
# Derived from the steps, by CloudEvents type: (status, label), and the role a customer sees.
EVENT_STATUS = {step.event.type: (step.status, step.label) for step in TIMELINE_STEPS}
CUSTOMER_FACING_ROLE = {step.event.type: step.role for step in TIMELINE_STEPS}


@dataclasses.dataclass(frozen=True)
class CustomerContact:
    name: str
    email: str
    phone: str


def customer_contact(*, customer_id: int) -> CustomerContact:
    customer = Customer.objects.select_related("user").get(pk=customer_id)
    return CustomerContact(
        name=customer.name, email=customer.email or customer.user.email, phone=customer.phone
    )


def customer_for_user(*, user: AbstractBaseUser | AnonymousUser) -> Customer | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        # Loaded with the API token (pizzeria.security.tokens), else one query; either way its
        # .user is this user.
        return user.customer  # type: ignore[union-attr]  # authenticated: a User, whose profile may be missing
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
    queryset._prefetch_done = True  # type: ignore[attr-defined]  # what a prefetch sets (private)
    order._prefetched_objects_cache = {  # type: ignore[attr-defined]
        **getattr(order, "_prefetched_objects_cache", {}),
        "items": queryset,
    }


def order_list_for_customer(*, customer: Customer) -> QuerySet[Order]:
    return (
        Order.objects.filter(customer=customer)
        .prefetch_related(_items_prefetch())
        .order_by("-placed_at", "-id")
    )


def order_get_for_customer(*, customer: Customer, order_id: int) -> Order:
    """The customer's own order; raises Order.DoesNotExist for anybody else's (no existence leak)."""
    return order_list_for_customer(customer=customer).get(pk=order_id)


def actor_role(*, order: Order, event_type: str, actor: str) -> str:
    """ "you" for the order's customer, else the role ("kitchen", "driver", "pizzeria").

    Staff usernames are staff's personal data (and a handle for social engineering); customers
    never see them.
    """
    if actor == order.customer.user.get_username():
        return "you"
    if event_type == events.OrderDelivered.type and order.fulfilment == Order.Fulfilment.PICKUP:
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
            for row in OutboxEvent.objects.filter(
                aggregate_type="order", aggregate_id=str(order.pk)
            ).order_by("occurred_at", "aggregate_version")
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
    # The outbox rows were purged by retention: the order's own timestamps.
    for step in TIMELINE_STEPS:
        at = getattr(order, f"{step.column}_at")
        if at is None:
            continue
        event_type = step.event.type
        entry = {"type": event_type, "at": at, "status": step.status, "label": step.label}
        if by := getattr(order, f"{step.column}_by"):
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

    rows = part(
        Pizza.objects.filter(pk__in=list(pizza_ids), active=True), "pizza", "name", "base_price"
    ).union(
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


def orders_with_items(*, chunk_size: int = 500) -> Iterator[Order]:
    """Every order with its items, oldest first, streamed in chunks (analytics rebuilds from it)."""
    return Order.objects.prefetch_related(_items_prefetch()).order_by("pk").iterator(chunk_size=chunk_size)
