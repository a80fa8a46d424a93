from decimal import Decimal

import pytest

from kitchen.models import Ingredient, RecipeLine
from tests.factories import make_menu

KITCHEN_HANDLERS = [
    "kitchen.handlers.ticket_create",
    "kitchen.handlers.ingredients_consume",
    "kitchen.handlers.ticket_cooking_started",
    "kitchen.handlers.ticket_ready_start_next",
    "kitchen.handlers.ticket_out_for_delivery",
    "kitchen.handlers.ticket_delivered",
    "kitchen.handlers.ticket_cancel",
    "kitchen.handlers.ingredients_release",
    "kitchen.handlers.restock_request",
]


def make_ingredient(name: str, *, on_hand: str, threshold: str = "0", unit: str = "g", **extra) -> Ingredient:
    return Ingredient.objects.create(
        name=name,
        unit=unit,
        quantity_on_hand=Decimal(on_hand),
        minimum_threshold=Decimal(threshold),
        supplier_name=extra.pop("supplier_name", "Molino Rossi"),
        supplier_email=extra.pop("supplier_email", "orders@molinorossi.example"),
        supplier_phone=extra.pop("supplier_phone", "+15005550101"),
        **extra,
    )


@pytest.fixture
def kitchen_menu(db):
    """The factories' menu with recipes: Margherita = 250 g dough + 100 g mozzarella; mushrooms 50 g."""
    menu = make_menu()
    dough = make_ingredient("Pizza dough", on_hand="100000", threshold="1000")
    cheese = make_ingredient("Mozzarella", on_hand="100000", threshold="1000")
    mushrooms = make_ingredient("Mushrooms", on_hand="100000", threshold="500")
    for pizza in menu["pizzas"].values():
        RecipeLine.objects.create(pizza=pizza, ingredient=dough, quantity=Decimal("250"))
        RecipeLine.objects.create(pizza=pizza, ingredient=cheese, quantity=Decimal("100"))
    RecipeLine.objects.create(
        topping=menu["toppings"]["mushrooms"], ingredient=mushrooms, quantity=Decimal("50")
    )
    return {**menu, "dough": dough, "cheese": cheese, "mushrooms": mushrooms}


def one_margherita(menu, *, size: str = "medium", quantity: int = 1, toppings=()) -> list[dict]:
    return [
        {
            "pizza": menu["pizzas"]["Margherita"].pk,
            "size": size,
            "toppings": list(toppings),
            "quantity": quantity,
        }
    ]


@pytest.fixture
def kitchen_worker(worker):
    """The shared real-worker fixture (tests/conftest.py), under the name these tests use."""
    return worker
