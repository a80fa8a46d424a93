"""Channels: Twilio SMS, SendGrid email, and the console when a provider has no credentials."""

from __future__ import annotations

from collections.abc import Callable

from notifications.channels import console, email, sms
from notifications.channels.base import (
    OutgoingMessage,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTransientError,
    SendResult,
)

__all__ = [
    "OutgoingMessage",
    "ProviderError",
    "ProviderOutcomeUnknown",
    "ProviderPermanentError",
    "ProviderTransientError",
    "SendResult",
    "finder_for",
    "sender_for",
]


def sender_for(channel: str) -> Callable[[OutgoingMessage], SendResult]:
    """The send function for a channel, chosen from the settings at call time."""
    if channel == "sms":
        return sms.send if sms.configured() else console.send_sms
    if channel == "email":
        return email.send if email.configured() else console.send_email
    raise ValueError(f"Unknown channel {channel!r}")


def finder_for(channel: str) -> Callable[..., list[SendResult]] | None:
    """How to ask the provider which of our messages it holds, or None when it cannot be asked.

    finder(message, since=when) -> that message as the provider holds it, sent since then, oldest
    first; raises ProviderTransientError when the provider does not answer.
    """
    if channel == "sms" and sms.configured():
        return sms.find_sent
    return None  # SendGrid's Mail Send has no lookup: e-mail is at-least-once (channels/email.py)
