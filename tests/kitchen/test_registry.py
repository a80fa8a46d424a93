from eventbus import registry
from kitchen.events import InventoryLow
from tests.kitchen.conftest import KITCHEN_HANDLERS


def test_kitchen_handlers_are_registered_on_kitchen_or_inventory_queues():
    specs = {s.name: s for s in registry.all_handlers() if s.name.startswith("kitchen.")}
    assert sorted(specs) == sorted(KITCHEN_HANDLERS)
    assert {s.queue for s in specs.values()} == {"kitchen", "inventory"}
    assert specs["kitchen.handlers.ingredients_consume"].queue == "inventory"
    assert [s.name for s in registry.handlers_for(InventoryLow.type) if s.name.startswith("kitchen.")] == [
        "kitchen.handlers.restock_request"
    ]
