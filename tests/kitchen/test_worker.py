"""The kitchen through a real Celery worker subprocess, the real broker and database."""

import json
import time

import pytest

from kitchen import services
from kitchen.live import CHANNEL
from kitchen.models import KitchenTicket, PurchaseOrder
from orders.models import Order
from pizzeria.redisclient import redis_client
from simulation.workerproc import queues_purge
from tests.factories import make_order
from tests.kitchen.conftest import one_margherita
from tests.polling import wait_until
from tests.worker import make_worker

pytestmark = [pytest.mark.worker]


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup, django_db_blocker):
    """This module's worker, with the kitchen capacity set in its environment."""
    queues_purge()
    worker = make_worker(env={"KITCHEN_CAPACITY": "3"}).start()
    yield worker
    worker.stop()


def counts() -> dict[str, int]:
    result: dict[str, int] = {}
    for status in KitchenTicket.objects.values_list("status", flat=True):
        result[status] = result.get(status, 0) + 1
    return result


def test_five_orders_with_capacity_three_then_a_freed_slot_starts_the_next(
    kitchen_worker, kitchen_menu, settings
):
    settings.KITCHEN_CAPACITY = 3
    # when
    orders = [make_order(items=one_margherita(kitchen_menu)) for _ in range(5)]
    # then
    wait_until(lambda: counts() == {"cooking": 3, "queued": 2}, message="3 cooking, 2 queued")
    assert [Order.objects.get(pk=o.pk).status for o in orders] == ["cooking"] * 3 + ["placed"] * 2
    kitchen_menu["dough"].refresh_from_db()
    wait_until(
        lambda: (
            kitchen_menu["dough"].__class__.objects.get(name="Pizza dough").quantity_on_hand
            == 100000 - 5 * 250
        ),
        message="dough consumed by five orders",
    )

    # when a cook marks the first ready
    first = KitchenTicket.objects.get(order_id=orders[0].pk)
    services.ticket_mark_ready(ticket_id=first.pk, actor="cook")

    # then the oldest queued ticket starts by itself
    wait_until(
        lambda: KitchenTicket.objects.get(order_id=orders[3].pk).status == "cooking",
        message="order 4 cooking",
    )
    assert counts() == {"ready": 1, "cooking": 3, "queued": 1}
    assert Order.objects.get(pk=orders[3].pk).status == "cooking"
    assert KitchenTicket.objects.get(order_id=orders[3].pk).started_by == "kitchen"


def test_low_stock_leads_to_a_restock_request(kitchen_worker, kitchen_menu):
    dough = kitchen_menu["dough"]
    dough.quantity_on_hand = dough.minimum_threshold + 100
    dough.save()
    make_order(items=one_margherita(kitchen_menu))
    po = wait_until(
        lambda: PurchaseOrder.objects.filter(ingredient=dough).first(), message="a purchase order"
    )
    assert po.status == "requested"


def test_the_display_is_told_within_two_seconds_of_an_order_commit(kitchen_worker, kitchen_menu, settings):
    pubsub = redis_client(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CHANNEL)
    try:
        order = make_order(items=one_margherita(kitchen_menu))
        committed = time.monotonic()  # order_place's transaction has committed

        def note_for_the_order() -> bool:
            message = pubsub.get_message(timeout=0.5)
            return bool(message) and json.loads(message["data"]).get("order_id") == order.pk

        wait_until(
            note_for_the_order, timeout=10, interval=0, message="a board change note for the new order"
        )
        latency = time.monotonic() - committed
    finally:
        pubsub.close()
    print(f"order commit -> board change note: {latency * 1000:.0f} ms")
    assert latency < 2.0
