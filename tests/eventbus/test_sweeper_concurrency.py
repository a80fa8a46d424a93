"""Two sweepers at once (no worker in this module: its embedded beat would sweep too)."""

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from pizzeria.eventbus import sweeper
from pizzeria.eventbus.models import Delivery
from tests.capture import capture_events
from tests.eventbus.probes import emit


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_never_send_the_same_delivery(monkeypatch):
    # given 400 deliveries whose messages never went out
    with capture_events(run_handlers=False):  # rows only, no message (a worker may be about)
        events = [emit("ok") for _ in range(200)]
    Delivery.objects.filter(event_id__in=[e.event_id for e in events]).update(
        enqueued_at=None, next_attempt_at=timezone.now()
    )
    sent: list[int] = []
    lock = threading.Lock()

    def record(items, **kwargs):
        time.sleep(0.01)  # widen the race window
        with lock:
            sent.extend(pk for pk, _ in items)
        return len(items)

    monkeypatch.setattr(sweeper, "publish_deliveries", record)

    def run():
        try:
            sweeper.sweep(batch_size=25)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(sent) == 400
    assert len(set(sent)) == 400, "a delivery was sent by both sweepers"
