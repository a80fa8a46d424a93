"""Notification events (CloudEvents types com.mariopizzeria.notification.*)."""

from __future__ import annotations

import dataclasses

from eventbus import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class NotificationResendRequested(DomainEvent):
    """Staff asked to send a logged notification again (admin action "resend")."""

    type = "com.mariopizzeria.notification.resend_requested"
    notification_id: int
    requested_by: str
