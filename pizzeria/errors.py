"""The base of the apps' domain errors (orders.errors, kitchen.errors)."""

from __future__ import annotations


class DomainError(Exception):
    """A refused business rule: the message is the human reason, safe to show to staff and
    customers as it is (the API maps the subclasses to HTTP, the admin and displays to messages)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
