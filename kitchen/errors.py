"""Kitchen errors: the message is the human reason, shown to cooks as it is."""

from pizzeria.errors import DomainError


class KitchenError(DomainError):
    """Base class of the kitchen's errors (the displays and the admin show them as messages)."""


class AtCapacity(KitchenError):
    """KITCHEN_CAPACITY tickets are already cooking."""


class TicketStateError(KitchenError):
    """The ticket's status does not allow the requested change."""
