"""Seed the menu, staff groups and demo users. Idempotent: running it again duplicates nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from orders.models import Customer, Pizza, Size, Topping
from orders.services import customer_create

# Prices chosen so the example, 2 × large Margherita + mushrooms, totals 31.18:
# (9.50 + 1.25) × 1.45 = 15.5875 → 15.59 per pizza.
PIZZAS = [
    ("Margherita", "Tomato, fior di latte, basil, olive oil", "9.50"),
    ("Marinara", "Tomato, garlic, oregano, olive oil", "8.00"),
    ("Diavola", "Tomato, mozzarella, spicy salami", "11.50"),
    ("Quattro Formaggi", "Mozzarella, gorgonzola, parmigiano, fontina", "12.00"),
    ("Capricciosa", "Tomato, mozzarella, ham, mushrooms, artichokes, olives", "12.50"),
    ("Vegetariana", "Tomato, mozzarella, grilled vegetables", "11.00"),
]
SIZES = [("small", "Small", "0.80"), ("medium", "Medium", "1.00"), ("large", "Large", "1.45")]
TOPPINGS = [
    ("mushrooms", "Mushrooms", "1.25"),
    ("olives", "Olives", "1.00"),
    ("extra-cheese", "Extra cheese", "1.50"),
    ("ham", "Ham", "1.80"),
    ("salami", "Spicy salami", "1.80"),
    ("anchovies", "Anchovies", "1.60"),
    ("peppers", "Peppers", "1.00"),
    ("onions", "Onions", "0.80"),
]

# group → {app_label: [codename prefixes or full codenames]}; other apps' models are added when
# present. This is the role matrix of docs/security.md ("Roles and permissions"), least privilege:
# cooks cook, drivers dispatch and take cash, managers run the shop; only admins (superusers)
# manage webhook subscriptions and users. Nobody but admins sees API tokens.
GROUPS = {
    "manager": {
        "orders": [
            "add_",
            "change_",
            "view_",
            "delete_pizza",
            "delete_size",
            "delete_topping",
            "cook_order",
            "dispatch_order",
            "take_payment",
            "cancel_order",
        ],
        "kitchen": ["add_", "change_", "view_"],
        "notifications": ["view_", "resend_notification"],
        "analytics": ["view_"],
        "eventbus": ["view_", "change_"],
    },
    "cook": {
        "orders": ["view_order", "view_orderitem", "view_pizza", "view_size", "view_topping", "cook_order"],
        "kitchen": ["view_", "change_kitchenticket"],
    },
    "driver": {
        "orders": ["view_order", "view_orderitem", "view_customer", "dispatch_order", "take_payment"],
    },
}

DEMO_USERS = [
    # username, password, groups, is_staff, is_superuser
    ("admin", "pizza-admin-1", [], True, True),
    ("manager", "pizza-manager-1", ["manager"], True, False),
    ("cook", "pizza-cook-1", ["cook"], True, False),
    ("driver", "pizza-driver-1", ["driver"], True, False),
    ("customer", "pizza-customer-1", [], False, False),
]
CUSTOMER_PHONE = "+15005550006"
CUSTOMER_ADDRESS = "12 Via Roma, Springfield"


def _permissions(rules: dict[str, list[str]]) -> list[Permission]:
    perms = []
    for app_label, patterns in rules.items():
        for perm in Permission.objects.filter(content_type__app_label=app_label):
            if any(perm.codename.startswith(p) if p.endswith("_") else perm.codename == p for p in patterns):
                perms.append(perm)
    return perms


class Command(BaseCommand):
    help = "Create the menu, staff groups and demo users (safe to run repeatedly)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-users", action="store_true", help="Only the menu and the groups.")

    @transaction.atomic
    def handle(self, *args: Any, no_users: bool = False, **options: Any) -> None:
        created = 0
        for name, description, price in PIZZAS:
            created += Pizza.objects.get_or_create(
                name=name, defaults={"description": description, "base_price": Decimal(price)}
            )[1]
        for code, name, multiplier in SIZES:
            created += Size.objects.get_or_create(
                code=code, defaults={"name": name, "multiplier": Decimal(multiplier)}
            )[1]
        for code, name, price in TOPPINGS:
            created += Topping.objects.get_or_create(
                code=code, defaults={"name": name, "price": Decimal(price)}
            )[1]
        self.stdout.write(f"Menu: {Pizza.objects.count()} pizzas, {Size.objects.count()} sizes, "
                          f"{Topping.objects.count()} toppings ({created} new).")  # fmt: skip

        for group_name, rules in GROUPS.items():
            group, _ = Group.objects.get_or_create(name=group_name)
            group.permissions.set(_permissions(rules))
        self.stdout.write(f"Groups: {', '.join(GROUPS)}.")
        if no_users:
            return

        User = get_user_model()
        lines = []
        for username, password, groups, is_staff, is_superuser in DEMO_USERS:
            user, new = User.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@mariopizzeria.example",
                    "is_staff": is_staff,
                    "is_superuser": is_superuser,
                },
            )
            if new:
                user.set_password(password)
                user.save()
            user.groups.add(*Group.objects.filter(name__in=groups))
            shown = password if new or user.check_password(password) else "(changed since seeding)"
            lines.append((username, shown, ", ".join(groups) or
                          ("superuser" if is_superuser else "customer")))  # fmt: skip
        customer_user = User.objects.get(username="customer")
        if not Customer.objects.filter(user=customer_user).exists():
            customer_create(
                user=customer_user,
                phone=CUSTOMER_PHONE,
                email=customer_user.email,
                default_address=CUSTOMER_ADDRESS,
            )
        self.stdout.write(self.style.SUCCESS("Demo users (admin at /admin/, API at /api/):"))
        for username, password, role in lines:
            self.stdout.write(f"  {username:<10} {password:<28} {role}")
