import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from orders.models import Customer, Pizza, Size, Topping
from orders.services import order_place

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_prints_credentials():
    out = io.StringIO()
    call_command("seed", stdout=out)
    counts = (
        Pizza.objects.count(),
        Size.objects.count(),
        Topping.objects.count(),
        get_user_model().objects.count(),
    )
    call_command("seed", stdout=io.StringIO())
    assert counts == (
        Pizza.objects.count(),
        Size.objects.count(),
        Topping.objects.count(),
        get_user_model().objects.count(),
    )
    assert "pizza-admin-1" in out.getvalue() and "pizza-customer-1" in out.getvalue()
    assert set(Group.objects.values_list("name", flat=True)) >= {"manager", "cook", "driver"}
    cook = set(Group.objects.get(name="cook").permissions.values_list("codename", flat=True))
    assert "cook_order" in cook and not cook & {
        "change_order",
        "take_payment",
        "cancel_order",
        "dispatch_order",
    }
    customer = Customer.objects.get(user__username="customer")
    assert customer.phone == "+15005550006"
    assert get_user_model().objects.get(username="admin").is_superuser


def test_seeded_menu_reproduces_issue_example():
    call_command("seed", "--no-users", stdout=io.StringIO())
    call_command("seed", stdout=io.StringIO())
    order = order_place(
        customer=Customer.objects.get(user__username="customer"),
        items=[
            {
                "pizza": Pizza.objects.get(name="Margherita").pk,
                "size": "large",
                "toppings": ["mushrooms"],
                "quantity": 2,
            }
        ],
        fulfilment="delivery",
    )
    assert str(order.total_amount) == "31.18"
