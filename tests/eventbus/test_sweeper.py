"""The sweeper (eventbus/sweeper.py): its choices, with publishing replaced by a list
(no broker), and two sweepers at once. No worker in this module: its embedded beat would sweep too."""

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from eventbus import sweeper
from eventbus.models import Delivery, DeliveryAttempt
from tests.capture import capture_events
from tests.eventbus import rows
from tests.eventbus.probes import PROBE_A, PROBE_B, emit

pytestmark = pytest.mark.django_db

PENDING, RETRYING, RUNNING = Delivery.Status.PENDING, Delivery.Status.RETRYING, Delivery.Status.RUNNING


@pytest.fixture
def published(monkeypatch):
    sent: list[int] = []

    def publish(items, **kwargs):
        items = list(items)
        sent.extend(pk for pk, _ in items)
        return len(items)

    monkeypatch.setattr(sweeper, "publish_deliveries", publish)
    return sent


def test_pending_never_enqueued_is_resent(published):
    d = rows.delivery(enqueued_at=None, next_attempt_at=rows.ago(1))

    result = sweeper.sweep()

    assert published == [d.pk]
    assert result.redispatched == 1
    d.refresh_from_db()
    assert d.enqueued_at is not None and d.status == PENDING


def test_pending_enqueued_recently_is_left_alone(published, settings):
    rows.delivery(enqueued_at=rows.ago(settings.EVENTBUS_REDISPATCH_AFTER / 2), next_attempt_at=rows.ago(1))

    assert sweeper.sweep().redispatched == 0
    assert published == []


def test_pending_enqueued_long_ago_is_resent(published, settings):
    d = rows.delivery(
        enqueued_at=rows.ago(settings.EVENTBUS_REDISPATCH_AFTER + 1), next_attempt_at=rows.ago(60)
    )

    sweeper.sweep()

    assert published == [d.pk]


def test_due_retry_is_resent_and_a_future_one_is_not(published):
    due = rows.delivery(status=RETRYING, attempts=1, enqueued_at=None, next_attempt_at=rows.ago(1))
    rows.delivery(status=RETRYING, attempts=1, enqueued_at=None, next_attempt_at=rows.ago(-60))

    sweeper.sweep()

    assert published == [due.pk]


def test_finished_rows_are_never_resent(published):
    for status in (Delivery.Status.SUCCEEDED, Delivery.Status.DEAD, Delivery.Status.DISCARDED):
        rows.delivery(status=status, enqueued_at=None, next_attempt_at=rows.ago(60))

    assert sweeper.sweep().redispatched == 0


def test_resends_in_batches_until_nothing_is_left(published):
    stranded = [rows.delivery(enqueued_at=None, next_attempt_at=rows.ago(1)).pk for _ in range(5)]

    result = sweeper.sweep(batch_size=2)

    assert result.redispatched == 5
    assert sorted(published) == sorted(stranded)


def running(*, attempts: int, lease_seconds_ago: float, handler: str = PROBE_A, **fields) -> Delivery:
    return rows.delivery(
        handler=handler,
        status=RUNNING,
        attempts=attempts,
        claimed_at=rows.ago(lease_seconds_ago + 3),
        lease_until=rows.ago(lease_seconds_ago),
        **fields,
    )


def test_expired_lease_becomes_a_lost_attempt_and_a_retry(published):
    d = running(attempts=1, lease_seconds_ago=1)

    result = sweeper.sweep()

    assert result.leases_expired == 1
    d.refresh_from_db()
    assert d.status == RETRYING and d.attempts == 1 and d.lease_until is None
    assert d.last_error_class == "WorkerLost"
    lost = DeliveryAttempt.objects.get(delivery=d)
    assert (lost.number, lost.outcome, lost.error_class) == (1, DeliveryAttempt.Outcome.LOST, "WorkerLost")
    assert lost.duration_ms is not None and lost.duration_ms >= 3000
    assert lost.retry_at == d.next_attempt_at


def test_expired_lease_at_max_attempts_is_dead(published):
    d = running(attempts=4, lease_seconds_ago=1)  # probe_a: max_attempts=4

    sweeper.sweep()

    d.refresh_from_db()
    assert d.status == Delivery.Status.DEAD and d.finished_at is not None
    lost = DeliveryAttempt.objects.get(delivery=d)
    assert (lost.outcome, lost.retry_at) == (DeliveryAttempt.Outcome.LOST, None)
    assert published == []


def test_expired_lease_uses_default_max_attempts_for_other_handlers(published, settings):
    below = running(attempts=settings.EVENTBUS_MAX_ATTEMPTS - 1, lease_seconds_ago=1, handler=PROBE_B)
    at = running(attempts=settings.EVENTBUS_MAX_ATTEMPTS, lease_seconds_ago=1, handler=PROBE_B)

    sweeper.sweep()

    below.refresh_from_db()
    at.refresh_from_db()
    assert (below.status, at.status) == (RETRYING, Delivery.Status.DEAD)


def test_expired_lease_after_a_replay_counts_from_the_replay(published):
    d = running(attempts=6, attempts_before_replay=4, lease_seconds_ago=1)

    sweeper.sweep()

    d.refresh_from_db()
    assert d.status == RETRYING


def test_lost_attempt_after_a_replay_backs_off_from_the_replay(published, monkeypatch, settings):
    settings.EVENTBUS_BACKOFF_BASE, settings.EVENTBUS_BACKOFF_CAP = 100.0, 6000.0
    monkeypatch.setattr("eventbus.retry.random.uniform", lambda low, high: high)
    d = running(attempts=5, attempts_before_replay=4, lease_seconds_ago=1)

    sweeper.sweep()

    d.refresh_from_db()
    wait = (d.next_attempt_at - d.updated_at).total_seconds()
    assert 99 < wait <= 100  # base * 2**0 for the first attempt since the replay


def test_running_with_a_live_lease_is_left_alone(published):
    d = rows.delivery(status=RUNNING, attempts=1, claimed_at=timezone.now(), lease_until=rows.ago(-30))

    result = sweeper.sweep()

    assert (result.leases_expired, result.redispatched) == (0, 0)
    d.refresh_from_db()
    assert d.status == RUNNING and not DeliveryAttempt.objects.exists()


def test_broker_that_lost_its_data_gets_every_open_delivery_resent_at_once(published, settings):
    """A flush of the broker's Redis DB (a restart without persistence, or a careless
    cache.clear() on a shared DB) takes the queued messages with it: the epoch key goes too."""
    from eventbus.broker import EPOCH_KEY
    from pizzeria.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("only Redis loses its queues this way")
    sweeper.sweep()  # the epoch key exists now
    # given deliveries whose messages went out recently (the stale re-send would wait 300 s)
    settings.EVENTBUS_REDISPATCH_AFTER = 300
    sent = [rows.delivery(enqueued_at=rows.ago(1), next_attempt_at=rows.ago(2)) for _ in range(3)]
    assert sweeper.sweep().redispatched == 0

    # when the broker's database is emptied
    with app.connection_for_write() as conn:
        conn.default_channel.client.delete(EPOCH_KEY)

    # then the next sweep notices and re-sends every one of them, once
    result = sweeper.sweep()
    assert result.broker_reset is True
    assert sorted(published) == sorted(d.pk for d in sent)
    assert sweeper.sweep().broker_reset is False


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
