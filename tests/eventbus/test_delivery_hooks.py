"""The bus's hooks for handlers that are data (webhook subscriptions): handler families, a
postponed claim, Retry-After, the attempt detail and the on_failure hook."""

import datetime as dt

import pytest
from django.utils import timezone

from eventbus import registry
from eventbus.delivery import delivery_run
from eventbus.errors import DeliveryPostponed, PermanentError, TransientError
from eventbus.models import Delivery
from eventbus.outbox import outbox_write
from eventbus.registry import HandlerFamily, HandlerSpec
from tests.capture import capture_events
from tests.eventbus import rows
from tests.testapp.events import ProbeHappened

pytestmark = pytest.mark.django_db

PREFIX = "tests.family."


@pytest.fixture
def family():
    """A family whose member "tests.family.<n>" runs behaviours[n] and reports failures."""
    behaviours: dict[str, object] = {}
    failures: list[tuple[str, str, int]] = []

    def run(event, *, key):
        outcome = behaviours[key]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def on_failure(exc, *, delivery_id, status, key):
        failures.append((key, status, delivery_id))
        if key == "broken-hook":
            raise RuntimeError("the hook itself fails")

    def resolve(name):
        key = name.removeprefix(PREFIX)
        if key not in behaviours:
            raise LookupError(name)
        return HandlerSpec(
            name=name,
            event_type="",
            queue="events",
            max_attempts=3,
            func=lambda event: run(event, key=key),
            on_failure=lambda exc, **kw: on_failure(exc, key=key, **kw),
        )

    def members(event_types):
        return {t: [PREFIX + k for k in behaviours] for t in event_types if t == ProbeHappened.type}

    registry.register_family(HandlerFamily(prefix=PREFIX, members=members, resolve=resolve))
    yield behaviours, failures
    registry.unregister_family(PREFIX)


def probe():
    return ProbeHappened(aggregate_type="probe", aggregate_id="1", aggregate_version=1)


def member_delivery(key: str) -> Delivery:
    return rows.delivery(handler=PREFIX + key)


def test_family_members_get_a_delivery_each_when_the_event_is_recorded(family):
    behaviours, _ = family
    behaviours.update(a={"ok": 1}, b={"ok": 2})

    with capture_events(run_handlers=False):
        deliveries = outbox_write([probe()])

    assert {d.handler for d in deliveries} >= {PREFIX + "a", PREFIX + "b"}
    assert registry.handler(PREFIX + "a").queue == "events"
    with pytest.raises(LookupError):
        registry.handler(PREFIX + "unknown")


def test_a_returned_dict_is_the_attempt_detail(family):
    behaviours, _ = family
    behaviours["a"] = {"status": 204, "duration_ms": 3.5}
    delivery = member_delivery("a")

    assert delivery_run(delivery.pk) == "succeeded"
    assert delivery.attempt_log.get().detail == {"status": 204, "duration_ms": 3.5}


def test_a_postponed_claim_spends_no_attempt_and_logs_none(family):
    behaviours, failures = family
    until = timezone.now() + dt.timedelta(minutes=5)
    behaviours["a"] = DeliveryPostponed("circuit open", until=until)
    delivery = member_delivery("a")

    assert delivery_run(delivery.pk) == "postponed"

    delivery.refresh_from_db()
    assert delivery.status == "retrying" and delivery.attempts == 0
    assert delivery.next_attempt_at == until and delivery.enqueued_at is None  # the sweeper sends it
    assert delivery.last_error == "circuit open"
    assert delivery.attempt_log.count() == 0
    assert failures == []
    assert delivery_run(delivery.pk) == "skipped"  # not due before `until`


def test_retry_after_delays_the_retry_at_least_that_long(family):
    behaviours, _ = family
    behaviours["a"] = TransientError("429", retry_after=300, detail={"status": 429})
    delivery = member_delivery("a")

    delivery_run(delivery.pk)

    delivery.refresh_from_db()
    attempt = delivery.attempt_log.get()
    assert delivery.next_attempt_at >= attempt.started_at + dt.timedelta(seconds=300)
    assert attempt.detail == {"status": 429}


def test_on_failure_runs_with_the_outcome_and_a_broken_hook_loses_nothing(family):
    behaviours, failures = family
    behaviours["a"] = PermanentError("400")
    behaviours["broken-hook"] = TransientError("503")
    dead, retrying = member_delivery("a"), member_delivery("broken-hook")

    assert delivery_run(dead.pk) == "dead"
    assert delivery_run(retrying.pk) == "retrying"

    assert failures == [("a", "dead", dead.pk), ("broken-hook", "retrying", retrying.pk)]
    retrying.refresh_from_db()
    assert retrying.status == "retrying" and retrying.attempt_log.count() == 1
