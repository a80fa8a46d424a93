"""Factories for tests of every app: plain functions over the orders services and models."""

from __future__ import annotations

import io
import itertools
from decimal import Decimal

from django.contrib.auth import get_user_model

from orders.models import Customer, Order, Pizza, Size, Topping
from orders.services import customer_create, order_place

_seq = itertools.count(1)

# The seeded menu's prices, so "2 × large Margherita + mushrooms" = 31.18 as in issue 2.
MENU = {
    "pizzas": [
        ("Margherita", "Tomato, mozzarella, basil", "9.50"),
        ("Marinara", "Tomato, garlic, oregano", "8.00"),
        ("Diavola", "Tomato, mozzarella, spicy salami", "11.50"),
    ],
    "sizes": [("small", "Small", "0.80"), ("medium", "Medium", "1.00"), ("large", "Large", "1.45")],
    "toppings": [
        ("mushrooms", "Mushrooms", "1.25"),
        ("olives", "Olives", "1.00"),
        ("extra-cheese", "Extra cheese", "1.50"),
    ],
}


def make_menu() -> dict:
    """Create (or reuse) the standard menu; returns {"pizzas": {name: Pizza}, "sizes": {...}, "toppings": {...}}."""
    pizzas = {
        name: Pizza.objects.get_or_create(name=name, defaults={"description": d, "base_price": Decimal(p)})[0]
        for name, d, p in MENU["pizzas"]
    }
    sizes = {
        code: Size.objects.get_or_create(code=code, defaults={"name": n, "multiplier": Decimal(m)})[0]
        for code, n, m in MENU["sizes"]
    }
    toppings = {
        code: Topping.objects.get_or_create(code=code, defaults={"name": n, "price": Decimal(p)})[0]
        for code, n, p in MENU["toppings"]
    }
    return {"pizzas": pizzas, "sizes": sizes, "toppings": toppings}


def make_user(*, username: str | None = None, password: str = "pw-123456-xyz", **extra):
    username = username or f"user{next(_seq)}"
    user = get_user_model().objects.create_user(
        username=username, password=password, email=extra.pop("email", f"{username}@example.com"), **extra
    )
    return user


def make_staff(*, username: str | None = None, superuser: bool = True, password: str = "pw-123456-xyz"):
    username = username or f"staff{next(_seq)}"
    if superuser:
        return get_user_model().objects.create_superuser(
            username=username, password=password, email=f"{username}@example.com"
        )
    return make_user(username=username, password=password, is_staff=True)


def seed_groups() -> None:
    """The seed's staff groups with their permissions (the role matrix of docs/security.md)."""
    from django.core.management import call_command

    call_command("seed", "--no-users", stdout=io.StringIO())


def make_role_user(
    role: str, *, username: str | None = None, password: str = "pw-123456-xyz", is_staff: bool = True
):
    """A member of one of the seed's groups ("cook", "driver", "manager"); "admin" is a superuser."""
    from django.contrib.auth.models import Group

    if role == "admin":
        return make_staff(username=username or "admin", password=password)
    seed_groups()
    user = make_user(username=username or role, password=password, is_staff=is_staff)
    user.groups.add(Group.objects.get(name=role))
    return user


def make_customer(
    *,
    username: str | None = None,
    phone: str = "+15005550006",
    email: str | None = None,
    default_address: str = "",
) -> Customer:
    user = make_user(username=username)
    return customer_create(user=user, phone=phone, email=email or user.email, default_address=default_address)


def make_order(
    *,
    customer: Customer | None = None,
    fulfilment: str = "delivery",
    items: list[dict] | None = None,
    delivery_address: str = "12 Via Roma, Springfield",
    status: str | None = None,
    **kwargs,
) -> Order:
    """Place an order through the service (menu created if needed); optionally move it to `status`."""
    menu = make_menu()
    customer = customer or make_customer()
    if items is None:
        items = [
            {
                "pizza": menu["pizzas"]["Margherita"].pk,
                "size": "large",
                "toppings": ["mushrooms"],
                "quantity": 2,
            }
        ]
    order = order_place(
        customer=customer, items=items, fulfilment=fulfilment, delivery_address=delivery_address, **kwargs
    )
    if status:
        order = advance_order(order, status)
    return order


def advance_order(order: Order, status: str, *, actor: str = "staff") -> Order:
    """Move an order along the happy path until it reaches `status`."""
    from orders import services

    path = ["placed", "paid", "cooking", "ready"]
    path += ["out_for_delivery", "delivered"] if order.fulfilment == "delivery" else ["delivered"]
    if status == "cancelled":
        return services.order_cancel(order_id=order.pk, actor=actor, reason="test")
    steps = {
        "paid": lambda: services.order_pay(order_id=order.pk, method="card", reference="ref", actor=actor),
        "cooking": lambda: services.order_start_cooking(order_id=order.pk, actor=actor),
        "ready": lambda: services.order_mark_ready(order_id=order.pk, actor=actor),
        "out_for_delivery": lambda: services.order_send_out(order_id=order.pk, actor=actor, driver="driver"),
        "delivered": lambda: services.order_mark_delivered(order_id=order.pk, actor=actor),
    }
    for step in path[path.index(order.status) + 1 : path.index(status) + 1]:
        order = steps[step]()
    return order
