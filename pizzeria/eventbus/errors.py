class TransientError(Exception):
    """A failure worth retrying: timeouts, 429, 5xx, a dependency briefly away."""


class PermanentError(Exception):
    """A failure no retry can fix (validation, provider 4xx): the delivery goes dead at once."""
