"""One retry path: the runner returns its decision (RunOutcome.retry_in), run_delivery alone acts.

The end-to-end proofs are test_pipeline.py (a transient failure retried by a real worker) and
tests/faults/test_database.py (the database cut mid-run); these pin who sends what.
"""

import pytest
from celery.exceptions import Reject, Retry
from django.db import OperationalError

from eventbus import delivery as runner
from eventbus.models import Delivery
from eventbus.tasks import run_delivery
from tests.capture import messages_sent_to
from tests.eventbus import rows


@pytest.fixture
def published(monkeypatch):
    """Every message sent other than through run_delivery's retry (publish_deliveries, apply_async)."""
    sent: list[int] = []
    with messages_sent_to(lambda delivery_id, queue: sent.append(delivery_id)):
        yield sent


@pytest.fixture
def retries(monkeypatch):
    """What run_delivery asks Celery's retry to send (instead of a broker)."""
    calls: list[dict] = []

    def retry(*, args, kwargs, countdown, headers):
        calls.append({"args": args, "kwargs": kwargs, "countdown": countdown})
        return Retry(when=countdown)

    monkeypatch.setattr(run_delivery, "retry", retry)
    return calls


def _failing_once() -> Delivery:
    return rows.delivery(next_attempt_at=rows.ago(1), event=rows.outbox_event(behaviour="transient:1"))


@pytest.mark.django_db
def test_a_handler_failure_is_a_decision_the_runner_returns_not_a_message_it_sends(settings, published):
    settings.EVENTBUS_SHORT_RETRY_MAX = 5.0
    d = _failing_once()

    outcome = runner.delivery_run(d.pk, worker="w")

    assert outcome == "retrying" and outcome.retry_in is not None and 0 <= outcome.retry_in <= 5.0
    assert published == []  # the runner sent nothing itself
    d.refresh_from_db()
    assert d.status == Delivery.Status.RETRYING and d.enqueued_at == d.next_attempt_at


@pytest.mark.django_db
def test_a_long_wait_is_the_rows_and_the_sweepers(settings, published):
    settings.EVENTBUS_SHORT_RETRY_MAX = 0
    d = _failing_once()

    outcome = runner.delivery_run(d.pk, worker="w")

    assert outcome == "retrying" and outcome.retry_in is None
    assert published == []
    d.refresh_from_db()
    assert d.enqueued_at is None  # what the sweeper looks for once next_attempt_at is due


@pytest.mark.django_db
def test_run_delivery_sends_the_handler_retry_itself_with_the_runners_delay(
    settings, monkeypatch, published, retries
):
    settings.EVENTBUS_SHORT_RETRY_MAX = 5.0
    monkeypatch.setattr("eventbus.retry.random.uniform", lambda low, high: high)
    d = _failing_once()

    result = run_delivery.apply(args=(d.pk,))

    assert result.state == "RETRY"
    d.refresh_from_db()
    assert d.status == Delivery.Status.RETRYING
    assert retries == [{"args": (d.pk,), "kwargs": {}, "countdown": settings.EVENTBUS_BACKOFF_BASE}]
    assert published == []


@pytest.mark.django_db(transaction=True)
def test_a_lost_database_takes_the_same_path_carrying_the_attempt_left_running(
    settings, monkeypatch, published, retries
):
    settings.EVENTBUS_DB_RETRY_BASE, settings.EVENTBUS_DB_RETRY_CAP = 2.0, 10.0
    d = rows.delivery(next_attempt_at=rows.ago(1))

    def cut(claim, *, worker):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(runner, "_run_claimed", cut)
    monkeypatch.setattr(runner, "connection_lost", lambda: True)

    run_delivery.apply(args=(d.pk,))

    [call] = retries
    assert call["args"] == (d.pk,) and call["kwargs"] == {"abandoned_attempt": 1}
    assert 1.0 <= call["countdown"] <= 2.0  # jittered base * 2**0
    assert published == []


@pytest.mark.django_db
def test_a_retry_the_broker_refuses_is_left_to_the_sweeper(settings, monkeypatch):
    settings.EVENTBUS_SHORT_RETRY_MAX = 5.0

    def refused(**kwargs):
        raise Reject(ConnectionError("broker away"), requeue=False)  # what Celery's retry raises then

    monkeypatch.setattr(run_delivery, "retry", refused)
    d = _failing_once()

    run_delivery.apply(args=(d.pk,))

    d.refresh_from_db()
    assert d.status == Delivery.Status.RETRYING and d.enqueued_at is None
