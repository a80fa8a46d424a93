"""Domain errors of the order aggregate. The API maps them to HTTP, the admin to messages."""

from __future__ import annotations


class OrderError(Exception):
    """Base class: the message is the human reason, safe to show to staff and customers."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class IllegalTransition(OrderError):
    """The order's current status does not allow the requested change (API: 409)."""


class InvalidOrder(OrderError):
    """The order request names something the menu does not offer (API: 400 with field errors)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))


class IdempotencyConflict(OrderError):
    """The Idempotency-Key was already used by this customer for a different request (API: 422)."""


class NoCustomerProfile(OrderError):
    """The acting user has no Customer profile (e.g. staff accounts); they cannot order via the API."""
