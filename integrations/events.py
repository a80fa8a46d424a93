"""Integration events: internal (never sent to subscribers), for staff to hear about trouble."""

from __future__ import annotations

import dataclasses
import datetime as dt

from eventbus import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebhookSubscriptionDeactivated(DomainEvent):
    """A subscription stopped receiving events: its receiver answered 410 Gone, or staff said so."""

    type = "com.mariointegrations.subscription_deactivated"
    subscription_id: int
    subscription_name: str
    url: str
    reason: str
    deactivated_by: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebhookCircuitOpened(DomainEvent):
    """A subscription's circuit breaker opened: its deliveries wait until a probe succeeds."""

    type = "com.mariointegrations.circuit_opened"
    subscription_id: int
    subscription_name: str
    url: str
    consecutive_failures: int
    last_error: str
    retry_at: dt.datetime
