"""Channels: Twilio SMS, SendGrid email, and the console when a provider has no credentials."""

from __future__ import annotations

from collections.abc import Callable

from notifications.channels import console, email, sms
from notifications.channels.base import (
    OutgoingMessage,
    ProviderError,
    ProviderPermanentError,
    ProviderTransientError,
    SendResult,
)

__all__ = [
    "OutgoingMessage",
    "ProviderError",
    "ProviderPermanentError",
    "ProviderTransientError",
    "SendResult",
    "sender_for",
]


def sender_for(channel: str) -> Callable[[OutgoingMessage], SendResult]:
    """The send function for a channel, chosen from the settings at call time."""
    if channel == "sms":
        return sms.send if sms.configured() else console.send_sms
    if channel == "email":
        return email.send if email.configured() else console.send_email
    raise ValueError(f"Unknown channel {channel!r}")
