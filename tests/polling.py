"""The tests' one way to wait: poll a condition until it holds, within a bound.

A bare sleep either waits too long or, on a busy machine, not long enough; polling the real
condition does neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], *, timeout: float = 20.0, interval: float = 0.05, message: str = ""
) -> T:
    """Return predicate()'s first truthy value; raise AssertionError with message and the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"Timed out after {timeout}s waiting for {message or predicate}; last value {last!r}"
    )
