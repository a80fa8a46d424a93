"""What every channel takes and returns, and the failure classes it raises."""

from __future__ import annotations

import dataclasses

from django.conf import settings

from eventbus import PermanentError, TransientError
from pizzeria.security.privacy import mask_text


@dataclasses.dataclass(frozen=True)
class OutgoingMessage:
    notification_id: int
    recipient: str
    body: str
    subject: str = ""
    html: str = ""


@dataclasses.dataclass(frozen=True)
class SendResult:
    provider: str
    message_id: str
    logged_only: bool = False  # the console channel: recorded, not sent to a provider


class ProviderError(Exception):
    def __init__(self, provider: str, message: str, *, status: int | None = None, code: str = "") -> None:
        self.provider = provider
        self.status = status
        self.code = code
        detail = f"{provider}"
        if status is not None:
            detail += f" HTTP {status}"
        if code:
            detail += f" code {code}"
        # Provider texts quote the recipient ("The 'To' number +44… is not valid"); this message
        # is stored on the notification, the delivery and its attempts, so numbers are masked.
        super().__init__(f"{detail}: {mask_text(message)}")


class ProviderTransientError(ProviderError, TransientError):
    """429, 5xx, timeout, connection refused: the bus retries with backoff."""


class ProviderPermanentError(ProviderError, PermanentError):
    """The provider refused the message itself (invalid number, unsubscribed, bad payload)."""


class ProviderCredentialsError(ProviderPermanentError):
    """401/403: the provider refused *us* (wrong or revoked key), not the message.

    No retry fixes it, so the delivery is a dead letter at once; but the message is fine, so its
    log row stays sendable and replaying the dead letter once the key is fixed sends it.
    """

    def __init__(self, provider: str, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(provider, f"provider rejected the credentials ({message})", status=status, code=code)


CREDENTIAL_STATUSES = (401, 403)


def http_timeout() -> float:
    # Well under the handler's soft time limit, so a hung provider is a retry, not a killed task.
    return settings.NOTIFY_HTTP_TIMEOUT
