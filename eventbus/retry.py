"""The retry policy, in one place: after a failed attempt, retry when, or dead."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.conf import settings

from eventbus.errors import PermanentError
from eventbus.registry import HandlerSpec


@dataclass(frozen=True)
class NextStep:
    dead: bool
    delay: float = 0.0  # seconds until the next attempt (0 when dead)

    def at(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(seconds=self.delay)


def next_step(spec: HandlerSpec | None, attempts_since_replay: int, exc: BaseException | None) -> NextStep:
    """What follows a failed attempt: dead (permanent error, or the budget spent) or a retry.

    The budget and the backoff count from the last replay, so a replayed dead letter gets a fresh
    budget that starts again with short waits. An error may set a floor on the wait
    (`retry_after`, e.g. an HTTP 429's Retry-After).
    """
    if isinstance(exc, PermanentError) or attempts_since_replay >= max_attempts(spec):
        return NextStep(dead=True)
    delay = backoff_seconds(spec, attempts_since_replay)
    return NextStep(dead=False, delay=max(delay, getattr(exc, "retry_after", None) or 0.0))


def max_attempts(spec: HandlerSpec | None) -> int:
    if spec is not None and spec.max_attempts is not None:
        return spec.max_attempts
    return settings.EVENTBUS_MAX_ATTEMPTS


def backoff_seconds(spec: HandlerSpec | None, attempt: int) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**(attempt-1)))."""
    base, cap = (
        spec.backoff
        if spec is not None and spec.backoff is not None
        else (settings.EVENTBUS_BACKOFF_BASE, settings.EVENTBUS_BACKOFF_CAP)
    )
    return random.uniform(0, min(cap, base * 2 ** max(attempt - 1, 0)))  # noqa: S311 - jitter, not a secret


def database_lost_delay(lost_before: int) -> float:
    """Wait before a message whose database connection broke runs again: capped exponential
    backoff, jittered (0.5-1.0), so a database that comes back is not met by every worker at once."""
    ceiling = min(settings.EVENTBUS_DB_RETRY_CAP, settings.EVENTBUS_DB_RETRY_BASE * 2**lost_before)
    return random.uniform(0.5, 1.0) * ceiling  # noqa: S311 - jitter, not a secret
