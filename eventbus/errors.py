from __future__ import annotations

import datetime as dt


class _DeliveryError(Exception):
    """Base of the errors a handler raises on purpose; `detail` goes to the attempt log."""

    def __init__(self, message: str = "", *, detail: dict | None = None) -> None:
        super().__init__(message)
        self.detail = detail


class TransientError(_DeliveryError):
    """A failure worth retrying: timeouts, 429, 5xx, a dependency briefly away.

    `retry_after` (seconds) is the earliest retry the other side asked for (HTTP Retry-After):
    the next attempt is due no earlier, whatever the backoff says.
    """

    def __init__(
        self, message: str = "", *, retry_after: float | None = None, detail: dict | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class PermanentError(_DeliveryError):
    """A failure no retry can fix (validation, provider 4xx): the delivery goes dead at once."""


class DeliveryPostponed(Exception):
    """Not now, and not a failure: the handler did nothing; run it again at `until`.

    The attempt is given back (no attempt is logged or spent), e.g. while a webhook
    subscription's circuit breaker is open.
    """

    def __init__(self, message: str, *, until: dt.datetime) -> None:
        super().__init__(message)
        self.until = until
