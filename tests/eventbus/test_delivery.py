"""The runner on its own: the fence, bad stored data, lost connections, the database's clock."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from eventbus import delivery as runner
from eventbus import sweeper
from eventbus.models import Delivery, DeliveryAttempt, OutboxEvent
from tests.eventbus import rows
from tests.eventbus.probes import PROBE_A, emit, side_effects
from tests.testapp.models import SideEffect

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_publishing(monkeypatch):
    sent = []
    monkeypatch.setattr(sweeper, "publish_deliveries", lambda items, **kw: sent.extend(items) or len(sent))
    return sent


def _make_due(d: Delivery) -> None:
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


def test_late_finisher_whose_lease_was_taken_over_rolls_back():
    # given worker A claimed the delivery and is still running the handler
    event = emit("ok")
    d = Delivery.objects.get(event_id=event.event_id, handler=PROBE_A)
    claim_a = runner.delivery_claim(d.pk)
    assert claim_a is not None and claim_a.attempt == 1

    # when A's lease expires, the sweeper counts the attempt as lost, and worker B runs it
    Delivery.objects.filter(pk=d.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert sweeper.sweep().leases_expired == 1
    _make_due(d)
    assert runner.delivery_run(d.pk, worker="B") == Delivery.Status.SUCCEEDED

    # and A finally finishes: its handler's writes and its "succeeded" mark must roll back
    assert runner._run_claimed(claim_a, worker="A") == "lease-lost"

    # then there is one success, the handler's effect exists once, and A left no attempt row
    d.refresh_from_db()
    assert d.status == Delivery.Status.SUCCEEDED and d.attempts == 2
    assert side_effects(event) == 1
    log = list(
        DeliveryAttempt.objects.filter(delivery=d)
        .order_by("number")
        .values_list("number", "outcome", "worker")
    )
    assert log == [(1, "lost", ""), (2, "succeeded", "B")]


def test_late_failure_after_a_takeover_does_not_overwrite_the_success():
    event = emit("transient:1")
    d = Delivery.objects.get(event_id=event.event_id, handler=PROBE_A)
    claim_a = runner.delivery_claim(d.pk)
    Delivery.objects.filter(pk=d.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    sweeper.sweep()
    _make_due(d)
    # B's attempt is the handler's second call: it succeeds
    from tests.testapp.handlers import key, redis_client

    redis_client().set(key(event, "calls"), 5)
    assert runner.delivery_run(d.pk, worker="B") == Delivery.Status.SUCCEEDED

    # A's handler raised (the scripted transient failure on its first call): its failure record is fenced too
    redis_client().set(key(event, "calls"), 0)
    assert runner._run_claimed(claim_a, worker="A") == "lease-lost"

    d.refresh_from_db()
    assert d.status == Delivery.Status.SUCCEEDED
    assert not DeliveryAttempt.objects.filter(delivery=d, worker="A").exists()


def test_payload_that_no_longer_fits_its_class_is_dead_at_once_with_the_real_error():
    # given an OrderCancelled stored before a field was renamed (order -> order_id)
    outbox = OutboxEvent.objects.create(
        event_id=uuid.uuid4(),
        type="com.mariopizzeria.order.cancelled",
        aggregate_type="order",
        aggregate_id="7",
        aggregate_version=3,
        occurred_at=timezone.now(),
        payload={"order": 7, "reason": "changed my mind", "cancelled_by": "customer"},
    )
    d = rows.delivery(event=outbox, handler="kitchen.handlers.ticket_cancel")

    # when a worker runs it
    status = runner.delivery_run(d.pk, worker="w")

    # then it is dead after one attempt, and the error names the class and the missing field
    d.refresh_from_db()
    assert status == Delivery.Status.DEAD == d.status
    assert d.attempts == 1
    assert "order_id" in d.last_error and "does not fit" in d.last_error
    assert d.last_error_class.endswith("PermanentError")


def test_release_after_a_lost_connection_makes_the_delivery_due_without_waiting_for_the_lease():
    d = rows.delivery(next_attempt_at=rows.ago(1))
    claim = runner.delivery_claim(d.pk)

    assert runner.delivery_release(d.pk, attempt=claim.attempt, error="connection lost") is True

    d.refresh_from_db()
    assert d.status == Delivery.Status.RETRYING and d.lease_until is None and d.enqueued_at is None
    assert d.last_error_class == "DatabaseLost"
    assert DeliveryAttempt.objects.get(delivery=d).outcome == "failed"
    # and the next run claims it at once
    assert runner.delivery_run(d.pk, worker="w") == Delivery.Status.SUCCEEDED


def test_release_is_fenced_when_the_sweeper_already_counted_the_attempt():
    d = rows.delivery(next_attempt_at=rows.ago(1))
    claim = runner.delivery_claim(d.pk)
    Delivery.objects.filter(pk=d.pk).update(lease_until=rows.ago(1))
    sweeper.sweep()

    assert runner.delivery_release(d.pk, attempt=claim.attempt, error="connection lost") is False
    assert list(DeliveryAttempt.objects.filter(delivery=d).values_list("outcome", flat=True)) == ["lost"]


def test_a_broken_connection_during_the_claim_raises_database_lost(monkeypatch):
    from django.db import OperationalError

    def broken(delivery_id):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(runner, "delivery_claim", broken)
    with pytest.raises(runner.DatabaseLost) as caught:
        runner.delivery_run(1, worker="w")
    assert caught.value.attempt is None


def test_a_message_that_arrives_before_its_delivery_is_due_hands_it_back_to_the_sweeper():
    d = rows.delivery(status=Delivery.Status.RETRYING, attempts=1, next_attempt_at=rows.ago(-30))

    assert runner.delivery_run(d.pk, worker="w") == "skipped"

    d.refresh_from_db()
    assert d.enqueued_at is None  # the sweeper sends it when due, whatever happened to the message
    assert d.status == Delivery.Status.RETRYING and d.attempts == 1


def test_claim_uses_the_database_clock_not_the_process_clock(time_machine_offset):
    # given this process's clock runs 30 s behind the database's
    d = rows.delivery(next_attempt_at=rows.ago(1))
    with time_machine_offset(-30):
        claim = runner.delivery_claim(d.pk)
    # then the delivery, due by the database's clock, is claimed, and the lease is the database's
    assert claim is not None
    d.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute("SELECT STATEMENT_TIMESTAMP()")
        db_now = cursor.fetchone()[0]
    assert abs((d.claimed_at - db_now).total_seconds()) < 10
    assert d.lease_until > db_now


def test_sweeper_ahead_of_the_database_does_not_steal_a_live_lease(time_machine_offset, settings):
    d = rows.delivery(next_attempt_at=rows.ago(1))
    runner.delivery_claim(d.pk)  # lease = database now + EVENTBUS_LEASE_SECONDS
    with time_machine_offset(settings.EVENTBUS_LEASE_SECONDS + 30):
        assert sweeper.sweep().leases_expired == 0
    d.refresh_from_db()
    assert d.status == Delivery.Status.RUNNING


def test_retention_purges_in_batches_and_resumes_where_it_stopped(settings):
    from eventbus.services import deliveries_purge

    old = timezone.now() - dt.timedelta(days=settings.EVENTBUS_RETENTION_DAYS + 1)
    for _ in range(7):
        d = rows.delivery(status=Delivery.Status.SUCCEEDED, finished_at=old)
        OutboxEvent.objects.filter(pk=d.event_id).update(created_at=old)
    keep = rows.delivery(status=Delivery.Status.SUCCEEDED, finished_at=timezone.now())

    # a budget of zero does nothing; batches of 3 delete everything past retention
    assert deliveries_purge(batch_size=3, time_budget=0) == (0, 0)
    assert deliveries_purge(batch_size=3) == (7, 7)
    assert list(Delivery.objects.values_list("pk", flat=True)) == [keep.pk]
    assert SideEffect.objects.count() == 0
