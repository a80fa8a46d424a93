"""Two concurrent starts cannot exceed the capacity (the capacity lock serialises them)."""

import threading

import pytest
from django.db import connection

from kitchen import services
from kitchen.errors import AtCapacity
from kitchen.models import KitchenTicket
from tests.capture import capture_events
from tests.factories import make_order
from tests.kitchen.conftest import one_margherita


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_respect_capacity(kitchen_menu, settings):
    settings.KITCHEN_CAPACITY = 1
    with capture_events(only=[]):  # no handlers, no broker: the tickets stay queued
        orders = [make_order(items=one_margherita(kitchen_menu)) for _ in range(2)]
    tickets = [KitchenTicket.objects.create(order_id=o.pk, items=[]) for o in orders]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start(ticket_id: int) -> None:
        try:
            barrier.wait(timeout=5)
            services.ticket_start(ticket_id=ticket_id, actor="cook")
            outcomes.append("started")
        except AtCapacity:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(t.pk,)) for t in tickets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)

    assert sorted(outcomes) == ["refused", "started"]
    assert KitchenTicket.objects.filter(status="cooking").count() == 1
