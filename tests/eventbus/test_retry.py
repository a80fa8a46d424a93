"""Retry policy: exponential backoff with full jitter, per-handler overrides, default attempts."""

import pytest

from eventbus import retry
from eventbus.registry import HandlerSpec
from tests.testapp.events import ProbeHappened


def spec(**policy) -> HandlerSpec:
    return HandlerSpec(
        name="tests.retry", event_type=ProbeHappened.type, func=lambda e: None, queue="events", **policy
    )


@pytest.mark.parametrize("attempt", range(1, 15))
def test_backoff_stays_within_full_jitter_bounds(settings, attempt):
    settings.EVENTBUS_BACKOFF_BASE = 2.0
    settings.EVENTBUS_BACKOFF_CAP = 600.0
    upper = min(600.0, 2.0 * 2 ** (attempt - 1))

    delays = [retry.backoff_seconds(None, attempt) for _ in range(300)]

    assert all(0 <= d <= upper for d in delays)
    # full jitter: spread over the whole window, not bunched at its top
    assert min(delays) < upper * 0.25 and max(delays) > upper * 0.75


def test_backoff_upper_bound_is_the_cap(monkeypatch, settings):
    settings.EVENTBUS_BACKOFF_BASE = 2.0
    settings.EVENTBUS_BACKOFF_CAP = 600.0
    monkeypatch.setattr(retry.random, "uniform", lambda low, high: high)

    assert [retry.backoff_seconds(None, n) for n in (1, 2, 3, 9, 10, 30)] == [2, 4, 8, 512, 600, 600]


def test_backoff_per_handler_override(monkeypatch):
    monkeypatch.setattr(retry.random, "uniform", lambda low, high: high)
    custom = spec(backoff=(0.5, 3.0))

    assert [retry.backoff_seconds(custom, n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]


def test_backoff_with_spec_without_override_uses_settings(monkeypatch, settings):
    settings.EVENTBUS_BACKOFF_BASE = 1.0
    settings.EVENTBUS_BACKOFF_CAP = 5.0
    monkeypatch.setattr(retry.random, "uniform", lambda low, high: high)

    assert retry.backoff_seconds(spec(), 4) == 5.0


def test_max_attempts_defaults_to_settings(settings):
    settings.EVENTBUS_MAX_ATTEMPTS = 8

    assert retry.max_attempts(None) == 8
    assert retry.max_attempts(spec()) == 8


def test_max_attempts_per_handler_override(settings):
    settings.EVENTBUS_MAX_ATTEMPTS = 8

    assert retry.max_attempts(spec(max_attempts=3)) == 3


def test_next_step_is_the_one_policy_for_failures_and_lost_workers(settings):
    from eventbus import retry
    from eventbus.errors import PermanentError, TransientError

    settings.EVENTBUS_MAX_ATTEMPTS = 3
    settings.EVENTBUS_BACKOFF_BASE, settings.EVENTBUS_BACKOFF_CAP = 1.0, 4.0
    # a permanent error is dead at once, whatever the budget
    assert retry.next_step(None, 1, PermanentError("no")).dead
    # an unknown or transient error (or a lost worker: exc None) retries within the backoff
    for exc in (RuntimeError("x"), TransientError("x"), None):
        step = retry.next_step(None, 2, exc)
        assert not step.dead and 0 <= step.delay <= 2.0
    # the budget counts attempts since the last replay
    assert retry.next_step(None, 3, None).dead
    # Retry-After is a floor on the wait
    slow = TransientError("429")
    slow.retry_after = 30.0
    assert retry.next_step(None, 1, slow).delay == 30.0
