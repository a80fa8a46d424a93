"""The pipeline end to end through a real worker subprocess, real broker, real database."""

from itertools import pairwise

import pytest
from django.db import transaction

from eventbus.models import Delivery, DeliveryAttempt, OutboxEvent
from eventbus.tasks import run_delivery
from tests.eventbus.probes import (
    PROBE_A,
    PROBE_B,
    delivery,
    emit,
    key,
    redis_client,
    side_effects,
    wait_status,
)
from tests.testapp.events import ProbeHappened
from tests.testapp.models import Probe

pytestmark = [pytest.mark.worker]


def test_every_subscribed_handler_runs_exactly_once(worker):
    # when
    event = emit("ok")
    # then
    for handler in (PROBE_A, PROBE_B):
        d = wait_status(event, "succeeded", handler)
        assert d.attempts == 1
        assert side_effects(event, handler) == 1
    outbox = OutboxEvent.objects.get(pk=event.event_id)
    assert outbox.type == "com.mariopizzeria.test.probe"
    assert outbox.aggregate_type == "probe"
    assert outbox.aggregate_version == 1
    assert Delivery.objects.filter(event_id=event.event_id).count() == 2
    attempt = DeliveryAttempt.objects.get(delivery=delivery(event))
    assert attempt.outcome == "succeeded" and attempt.worker == worker.name


def test_transient_failures_retry_with_backoff_then_succeed(worker):
    event = emit("transient:2")

    d = wait_status(event, "succeeded")

    assert d.attempts == 3
    assert side_effects(event) == 1
    attempts = list(DeliveryAttempt.objects.filter(delivery=d).order_by("number"))
    assert [a.outcome for a in attempts] == ["failed", "failed", "succeeded"]
    assert attempts[0].error_class == "eventbus.errors.TransientError"
    assert "scripted transient failure 1" in attempts[0].traceback
    # Backoff respected: each retry was scheduled within the policy and none started early.
    for failed, following in pairwise(attempts):
        delay = (failed.retry_at - failed.started_at).total_seconds()
        assert 0 <= delay <= 0.1 * 2 ** (failed.number - 1) + failed.duration_ms / 1000 + 0.05
        assert following.started_at >= failed.retry_at


def test_permanent_failure_is_dead_at_once_and_replay_runs_only_that_handler(worker):
    from eventbus.services import delivery_replay

    event = emit("permanent")

    dead = wait_status(event, "dead")
    wait_status(event, "succeeded", PROBE_B)
    assert dead.attempts == 1
    assert dead.last_error_class == "eventbus.errors.PermanentError"
    assert side_effects(event) == 0

    # when the cause is fixed and staff replay it
    redis_client().set(key(event, "fixed"), 1)
    assert delivery_replay(deliveries=[dead], actor="test") == 1

    replayed = wait_status(event, "succeeded")
    assert replayed.attempts == 2
    assert side_effects(event) == 1
    assert side_effects(event, PROBE_B) == 1
    assert DeliveryAttempt.objects.filter(delivery=replayed).count() == 2


def test_duplicate_message_causes_one_side_effect(worker):
    event = emit("ok")
    d = wait_status(event, "succeeded")

    run_delivery.apply_async((d.pk,), queue="kitchen")
    run_delivery.apply_async((d.pk,), queue="kitchen")
    marker = emit("ok")  # queued behind the duplicates on a single-process worker
    wait_status(marker, "succeeded")

    assert side_effects(event) == 1
    assert delivery(event).attempts == 1


def test_rolled_back_transaction_publishes_nothing(worker):
    with pytest.raises(RuntimeError), transaction.atomic():
        probe = Probe.objects.create(name="doomed")
        event = probe.record(ProbeHappened(behaviour="ok"))
        probe.save()
        raise RuntimeError("rollback")

    marker = emit("ok")
    wait_status(marker, "succeeded")
    assert not OutboxEvent.objects.filter(pk=event.event_id).exists()
    assert not Delivery.objects.filter(event_id=event.event_id).exists()


def test_saving_again_publishes_nothing_twice(worker):
    event = emit("ok")
    probe = Probe.objects.get(pk=event.aggregate_id)
    probe.name = "renamed"
    probe.save()

    wait_status(event, "succeeded")
    assert OutboxEvent.objects.filter(aggregate_type="probe", aggregate_id=str(probe.pk)).count() == 1
