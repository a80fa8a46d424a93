"""The in-memory helper: captured events run their handlers in-process through the real rows."""

import pytest

from eventbus import outbox
from eventbus.models import Delivery, DeliveryAttempt
from tests.capture import capture_events, messages_sent_to
from tests.eventbus.probes import PROBE_A, PROBE_B, delivery, emit, side_effects
from tests.testapp.events import ProbeHappened

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_broker():
    """Record anything sent to the broker (publish_deliveries swallows errors, so don't raise)."""
    sent = []
    with messages_sent_to(lambda delivery_id, queue: sent.append((delivery_id, queue))):
        yield sent
    assert sent == [], "the in-memory helper must not publish to the broker"


def test_handlers_run_in_process_through_the_real_rows(no_broker, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with capture_events() as captured:
            event = emit("ok")
    # then
    assert captured.types() == [ProbeHappened.type]
    assert captured.of_type(ProbeHappened) == [event]
    assert side_effects(event, PROBE_A) == 1 and side_effects(event, PROBE_B) == 1
    for d in captured.deliveries():
        assert (d.status, d.attempts) == (Delivery.Status.SUCCEEDED, 1)
        attempt = DeliveryAttempt.objects.get(delivery=d)
        assert attempt.outcome == "succeeded" and attempt.worker == "in-memory"
    assert callbacks == []  # nothing left to publish on commit


def test_only_filters_the_handlers_that_run(no_broker):
    with capture_events(only=[PROBE_B]) as captured:
        event = emit("ok")

    assert side_effects(event, PROBE_B) == 1
    assert side_effects(event, PROBE_A) == 0
    assert delivery(event, PROBE_A).status == Delivery.Status.PENDING
    assert [d.handler for d in captured.deliveries(handler=PROBE_B)] == [PROBE_B]


def test_run_handlers_false_only_captures(no_broker):
    with capture_events(run_handlers=False) as captured:
        event = emit("ok")

    assert captured.types() == [ProbeHappened.type]
    assert side_effects(event, PROBE_A) == side_effects(event, PROBE_B) == 0
    assert {d.status for d in captured.deliveries()} == {Delivery.Status.PENDING}


def test_permanent_failure_leaves_the_delivery_dead(no_broker):
    with capture_events() as captured:
        event = emit("permanent")

    dead = captured.deliveries(handler=PROBE_A)[0]
    assert dead.status == Delivery.Status.DEAD
    assert dead.last_error_class == "eventbus.errors.PermanentError"
    attempt = DeliveryAttempt.objects.get(delivery=dead)
    assert attempt.outcome == "failed" and "scripted permanent failure" in attempt.traceback
    assert side_effects(event, PROBE_A) == 0
    assert side_effects(event, PROBE_B) == 1  # the other handler of the same event is unaffected


def test_transient_failure_leaves_the_delivery_retrying(no_broker):
    with capture_events() as captured:
        event = emit("transient:5")

    d = captured.deliveries(handler=PROBE_A)[0]
    assert (d.status, d.attempts) == (Delivery.Status.RETRYING, 1)
    assert d.last_error_class == "eventbus.errors.TransientError"
    assert d.next_attempt_at >= d.claimed_at
    assert side_effects(event, PROBE_A) == 0


def test_publishing_is_restored_afterwards(no_broker):
    real = outbox.publish_on_commit
    with pytest.raises(RuntimeError):
        with capture_events():
            raise RuntimeError

    assert outbox.publish_on_commit is real
