import random

from django.conf import settings

from pizzeria.eventbus.registry import HandlerSpec


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
    return random.uniform(0, min(cap, base * 2 ** max(attempt - 1, 0)))
