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
    # Stable across every attempt for this notification (and unique across databases): marks an
    # e-mail so a second copy after an unknown outcome is recognisable as the same message.
    reference: str = ""


@dataclasses.dataclass(frozen=True)
class SendResult:
    provider: str
    message_id: str
    logged_only: bool = False  # the console channel: recorded, not sent to a provider
    # Found by a lookup after an unknown outcome (channels/sms.find_sent): the provider's status of
    # the message then, e.g. Twilio's "delivered", and its error code.
    provider_status: str = ""
    error_code: str = ""


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
    """429, 5xx, connection refused: the message was not accepted; the bus retries with backoff."""


class ProviderOutcomeUnknown(ProviderTransientError):
    """The request left and no answer came (read timeout, connection reset after sending, a 504).

    The provider may have accepted the message. The bus retries like any transient failure, but
    the notification row remembers it (Notification.unknown_since), and the next attempt asks the
    provider whether the message exists before sending again (notifications.services).
    """

    def __init__(self, provider: str, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(
            provider,
            f"outcome unknown, the provider may have accepted it ({message})",
            status=status,
            code=code,
        )
        self.detail = {"outcome": "unknown", "provider": provider}
        # Give the provider time to list what it accepted before the next attempt asks.
        self.retry_after = settings.NOTIFY_RECONCILE_AFTER


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
# A gateway that gave up waiting for the provider's backend says nothing about whether the
# backend took the message: an unknown outcome, not a refusal.
UNKNOWN_OUTCOME_STATUSES = (504,)


def http_timeout() -> float:
    # Well under the handler's soft time limit, so a hung provider is a retry, not a killed task.
    return settings.NOTIFY_HTTP_TIMEOUT
