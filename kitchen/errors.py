"""Kitchen errors: the message is the human reason, shown to cooks as it is."""


class KitchenError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class AtCapacity(KitchenError):
    """KITCHEN_CAPACITY tickets are already cooking."""


class TicketStateError(KitchenError):
    """The ticket's status does not allow the requested change."""
