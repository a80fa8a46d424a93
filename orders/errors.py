"""Domain errors of the order aggregate. The API maps them to HTTP, the admin to messages."""

from __future__ import annotations

from pizzeria.errors import DomainError


class OrderError(DomainError):
    """Base class of the order aggregate's errors (API: 400 unless a subclass says otherwise)."""


class IllegalTransition(OrderError):
    """The order's current status does not allow the requested change (API: 409)."""


class InvalidOrder(OrderError):
    """The order request names something the menu does not offer (API: 400 with field errors).

    errors: field → messages, with one "items[n]" entry per wrong item; item_errors: one
    {field: [messages]} per requested item ({} for a good one) when any item is wrong, which the
    API shows as its "items" list.
    """

    def __init__(
        self, errors: dict[str, list[str]], *, item_errors: list[dict[str, list[str]]] | None = None
    ) -> None:
        self.item_errors = list(item_errors or [])
        self.errors = dict(errors)
        for n, problems in enumerate(self.item_errors):
            if problems:
                self.errors[f"items[{n}]"] = [m for messages in problems.values() for m in messages]
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.errors.items()))

    def by_field(self) -> dict:
        """The errors as the API's fields: "items" is the per-item list when an item is wrong."""
        fields: dict = {k: v for k, v in self.errors.items() if not k.startswith("items[")}
        if self.item_errors:
            fields["items"] = self.item_errors
        return fields


class IdempotencyConflict(OrderError):
    """The Idempotency-Key was already used by this customer for a different request (API: 422)."""
