"""Staff operations: replay, discard, and the retention purge."""

import pytest

from eventbus import outbox, services
from eventbus.delivery import delivery_run
from eventbus.models import Delivery, DeliveryAttempt, OutboxEvent
from eventbus.services import deliveries_purge, delivery_discard, delivery_replay
from tests.eventbus import rows
from tests.eventbus.probes import PROBE_B

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


def test_replay_keeps_history_and_gives_a_fresh_retry_budget(django_capture_on_commit_callbacks):
    # given: probe_a died after its 4 attempts
    d = rows.dead(attempts=4)
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert delivery_replay(deliveries=Delivery.objects.filter(pk=d.pk), actor="mario") == 1
    # then
    d.refresh_from_db()
    assert d.status == Delivery.Status.PENDING
    assert (d.attempts, d.attempts_before_replay) == (4, 4)
    assert d.finished_at is None and d.enqueued_at is not None
    assert DeliveryAttempt.objects.filter(delivery=d).count() == 4  # history kept
    assert len(callbacks) == 1  # published once the replay commits


def test_replay_publishes_only_that_handler_on_commit(django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(services, "publish_deliveries", lambda items: sent.extend(items))
    event = rows.outbox_event()
    dead = rows.dead(event=event)
    rows.delivery(event=event, handler=PROBE_B, status=Delivery.Status.SUCCEEDED)

    with django_capture_on_commit_callbacks(execute=True):
        delivery_replay(deliveries=[dead])

    assert sent == [(dead.pk, dead.handler)]


def test_replayed_delivery_fails_again_as_a_retry_not_dead(monkeypatch):
    # The fresh budget in action: attempt 5 of a handler with max_attempts=4 may still retry.
    monkeypatch.setattr(outbox, "publish_deliveries", lambda *args, **kwargs: 0)
    d = rows.dead(attempts=4, event=rows.outbox_event(behaviour="transient:100"))
    delivery_replay(deliveries=[d])

    status = delivery_run(d.pk, worker="test")

    d.refresh_from_db()
    assert status == Delivery.Status.RETRYING
    assert (d.status, d.attempts) == (Delivery.Status.RETRYING, 5)
    assert list(DeliveryAttempt.objects.filter(delivery=d).values_list("number", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
    ]


def test_first_retry_after_a_replay_waits_like_a_first_retry(monkeypatch, settings):
    settings.EVENTBUS_BACKOFF_BASE, settings.EVENTBUS_BACKOFF_CAP = 1.0, 600.0
    settings.EVENTBUS_SHORT_RETRY_MAX = 0  # keep the retry in the row
    monkeypatch.setattr("eventbus.retry.random.uniform", lambda low, high: high)
    d = rows.dead(attempts=4, event=rows.outbox_event(behaviour="transient:100"))
    delivery_replay(deliveries=[d])

    delivery_run(d.pk, worker="test")

    d.refresh_from_db()
    wait = (d.next_attempt_at - d.updated_at).total_seconds()
    assert 0.9 < wait <= 1.0  # base * 2**0, not base * 2**4


def test_replay_of_nothing_registers_no_publish(django_capture_on_commit_callbacks):
    rows.delivery(status=Delivery.Status.SUCCEEDED)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert delivery_replay(deliveries=Delivery.objects.all()) == 0

    assert callbacks == []


def test_replay_takes_discarded_but_not_live_or_succeeded_deliveries():
    discarded = rows.dead(status=Delivery.Status.DISCARDED)
    others = [
        rows.delivery(status=status)
        for status in (Delivery.Status.PENDING, Delivery.Status.RETRYING, Delivery.Status.SUCCEEDED)
    ]

    count = delivery_replay(deliveries=Delivery.objects.all())

    assert count == 1
    discarded.refresh_from_db()
    assert discarded.status == Delivery.Status.PENDING
    assert [Delivery.objects.get(pk=o.pk).status for o in others] == [o.status for o in others]


def test_discard_marks_dead_deliveries_and_nothing_else():
    dead = rows.dead()
    retrying = rows.delivery(status=Delivery.Status.RETRYING)

    count = delivery_discard(deliveries=Delivery.objects.all(), actor="mario")

    assert count == 1
    dead.refresh_from_db()
    assert dead.status == Delivery.Status.DISCARDED and dead.finished_at is not None
    assert DeliveryAttempt.objects.filter(delivery=dead).count() == 4
    assert Delivery.objects.get(pk=retrying.pk).status == Delivery.Status.RETRYING


def old_event(days: float) -> OutboxEvent:
    event = rows.outbox_event()
    OutboxEvent.objects.filter(pk=event.pk).update(created_at=rows.ago(days * DAY))
    return event


def test_purge_after_retention_removes_finished_deliveries_and_orphaned_old_events(settings):
    settings.EVENTBUS_RETENTION_DAYS = 14
    # given
    gone_event = old_event(20)
    rows.delivery(event=gone_event, status=Delivery.Status.SUCCEEDED, finished_at=rows.ago(20 * DAY))
    rows.delivery(
        event=gone_event, handler=PROBE_B, status=Delivery.Status.DISCARDED, finished_at=rows.ago(15 * DAY)
    )
    kept_dead_event = old_event(20)
    old_done = rows.delivery(
        event=kept_dead_event, status=Delivery.Status.SUCCEEDED, finished_at=rows.ago(20 * DAY)
    )
    dead = rows.dead(event=kept_dead_event, handler=PROBE_B, finished_at=rows.ago(20 * DAY))
    recent_event = old_event(20)
    recent = rows.delivery(event=recent_event, status=Delivery.Status.SUCCEEDED, finished_at=rows.ago(DAY))
    orphan_old, orphan_new = old_event(20), old_event(1)
    # when
    deleted = deliveries_purge()
    # then
    assert deleted == (3, 2)
    assert set(Delivery.objects.values_list("pk", flat=True)) == {dead.pk, recent.pk}
    assert not Delivery.objects.filter(pk=old_done.pk).exists()
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {
        kept_dead_event.pk,
        recent_event.pk,
        orphan_new.pk,
    }
    assert not OutboxEvent.objects.filter(pk__in=[gone_event.pk, orphan_old.pk]).exists()
    assert DeliveryAttempt.objects.filter(delivery=dead).count() == 4


def test_purge_days_can_be_given():
    event = old_event(3)
    rows.delivery(event=event, status=Delivery.Status.SUCCEEDED, finished_at=rows.ago(3 * DAY))

    assert deliveries_purge(older_than_days=2) == (1, 1)
