"""The console channel: the default without credentials. Records and logs, sends nothing."""

from __future__ import annotations

import logging

from notifications.channels.base import OutgoingMessage, SendResult
from pizzeria.security.privacy import mask_contact

logger = logging.getLogger("notifications.console")


def send_sms(message: OutgoingMessage) -> SendResult:
    logger.info(
        "CONSOLE SMS (not sent to a provider) notification_id=%s to=%s\n%s",
        message.notification_id,
        mask_contact(message.recipient),
        message.body,
    )
    return SendResult(provider="console", message_id="", logged_only=True)


def send_email(message: OutgoingMessage) -> SendResult:
    logger.info(
        "CONSOLE EMAIL (not sent to a provider) notification_id=%s to=%s subject=%r\n%s",
        message.notification_id,
        mask_contact(message.recipient),
        message.subject,
        message.body,
    )
    return SendResult(provider="console", message_id="", logged_only=True)
