"""Seed ingredients, suppliers and recipes for the menu of `manage.py seed`. Idempotent:
existing ingredients keep their stock; only missing rows are added."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from kitchen.models import Ingredient, RecipeLine
from orders import selectors as order_selectors

SUPPLIERS = {
    "mill": ("Molino Rossi", "orders@molinorossi.example", "+15005550101"),
    "dairy": ("Caseificio Bianchi", "ordini@caseificiobianchi.example", "+15005550102"),
    "deli": ("Salumeria Verdi", "sales@salumeriaverdi.example", "+15005550103"),
    "greens": ("Orto Fresco", "hello@ortofresco.example", "+15005550104"),
    "pantry": ("Dispensa Italiana", "orders@dispensa.example", "+15005550105"),
}
# name: (unit, on hand, minimum threshold, reorder quantity, supplier)
INGREDIENTS = {
    "Pizza dough": ("g", 25000, 6000, 25000, "mill"),
    "Tomato sauce": ("ml", 12000, 3000, 12000, "pantry"),
    "Mozzarella fior di latte": ("g", 15000, 4000, 15000, "dairy"),
    "Gorgonzola": ("g", 2500, 600, 3000, "dairy"),
    "Parmigiano": ("g", 2000, 500, 2000, "dairy"),
    "Fontina": ("g", 2500, 600, 3000, "dairy"),
    "Basil": ("g", 400, 100, 500, "greens"),
    "Garlic": ("g", 600, 150, 500, "greens"),
    "Mushrooms": ("g", 4000, 1000, 4000, "greens"),
    "Peppers": ("g", 3000, 800, 3000, "greens"),
    "Onions": ("g", 3000, 800, 3000, "greens"),
    "Courgettes": ("g", 2500, 700, 3000, "greens"),
    "Aubergine": ("g", 2500, 700, 3000, "greens"),
    "Spicy salami": ("g", 4000, 1000, 4000, "deli"),
    "Cooked ham": ("g", 4000, 1000, 4000, "deli"),
    "Olive oil": ("ml", 3000, 700, 5000, "pantry"),
    "Oregano": ("g", 300, 60, 250, "pantry"),
    "Black olives": ("g", 2500, 600, 2500, "pantry"),
    "Artichokes": ("g", 2500, 600, 2500, "pantry"),
    "Anchovies": ("g", 1200, 300, 1200, "pantry"),
}
BASE = {"Pizza dough": 250, "Olive oil": 8}
# Per medium pizza; sizes scale these by their multiplier.
PIZZAS = {
    "Margherita": {**BASE, "Tomato sauce": 80, "Mozzarella fior di latte": 120, "Basil": 3},
    "Marinara": {**BASE, "Tomato sauce": 100, "Garlic": 6, "Oregano": 1, "Olive oil": 15},
    "Diavola": {**BASE, "Tomato sauce": 80, "Mozzarella fior di latte": 110, "Spicy salami": 60},
    "Quattro Formaggi": {
        **BASE,
        "Mozzarella fior di latte": 80,
        "Gorgonzola": 40,
        "Parmigiano": 20,
        "Fontina": 40,
    },
    "Capricciosa": {
        **BASE,
        "Tomato sauce": 80,
        "Mozzarella fior di latte": 100,
        "Cooked ham": 50,
        "Mushrooms": 40,
        "Artichokes": 40,
        "Black olives": 20,
    },
    "Vegetariana": {
        **BASE,
        "Tomato sauce": 80,
        "Mozzarella fior di latte": 100,
        "Peppers": 40,
        "Courgettes": 40,
        "Aubergine": 40,
        "Onions": 20,
    },
}
TOPPINGS = {
    "mushrooms": {"Mushrooms": 50},
    "olives": {"Black olives": 30},
    "extra-cheese": {"Mozzarella fior di latte": 60},
    "ham": {"Cooked ham": 50},
    "salami": {"Spicy salami": 50},
    "anchovies": {"Anchovies": 20},
    "peppers": {"Peppers": 50},
    "onions": {"Onions": 40},
}


class Command(BaseCommand):
    help = "Create ingredients, suppliers and recipes for the seeded menu (safe to run repeatedly)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        ingredients, new_ingredients = {}, 0
        for name, (unit, on_hand, threshold, reorder, supplier) in INGREDIENTS.items():
            s_name, s_email, s_phone = SUPPLIERS[supplier]
            ingredients[name], created = Ingredient.objects.get_or_create(
                name=name,
                defaults={
                    "unit": unit,
                    "quantity_on_hand": Decimal(on_hand),
                    "minimum_threshold": Decimal(threshold),
                    "reorder_quantity": Decimal(reorder),
                    "supplier_name": s_name,
                    "supplier_email": s_email,
                    "supplier_phone": s_phone,
                },
            )
            new_ingredients += created
        menu = order_selectors.menu_get()
        pizzas = {p.name: p for p in menu["pizzas"]}
        toppings = {t.code: t for t in menu["toppings"]}
        new_lines = 0
        for pizza_name, recipe in PIZZAS.items():
            if pizza_name in pizzas:
                for ingredient, qty in recipe.items():
                    new_lines += RecipeLine.objects.get_or_create(
                        pizza=pizzas[pizza_name],
                        ingredient=ingredients[ingredient],
                        defaults={"quantity": Decimal(qty)},
                    )[1]
        for code, recipe in TOPPINGS.items():
            if code in toppings:
                for ingredient, qty in recipe.items():
                    new_lines += RecipeLine.objects.get_or_create(
                        topping=toppings[code],
                        ingredient=ingredients[ingredient],
                        defaults={"quantity": Decimal(qty)},
                    )[1]
        self.stdout.write(
            f"Kitchen: {Ingredient.objects.count()} ingredients ({new_ingredients} new), "
            f"{RecipeLine.objects.count()} recipe lines ({new_lines} new)."
        )
