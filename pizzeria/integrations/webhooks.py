"""POST a domain event as a structured CloudEvent to every subscription that wants it.

At-least-once: if one subscriber fails transiently the whole delivery retries, so subscribers
that already accepted it receive it again; they deduplicate on the CloudEvent `id` (the
event_id), which the CloudEvents spec makes unique per source.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import requests

from pizzeria.eventbus import PermanentError, TransientError
from pizzeria.eventbus.cloudevents import to_structured_http
from pizzeria.eventbus.events import DomainEvent
from pizzeria.integrations.models import WebhookSubscription

logger = logging.getLogger(__name__)
TIMEOUT = (2.0, 5.0)  # connect, read: several subscribers must fit in the handler's time limit
TRANSIENT_STATUS = {408, 425, 429}


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhooks_send(*, event: DomainEvent) -> int:
    """Send to every active subscription that wants this type; return how many accepted it."""
    message = to_structured_http(event)
    transient: list[str] = []
    permanent: list[str] = []
    accepted = 0
    for sub in WebhookSubscription.objects.filter(active=True).order_by("pk"):
        if not sub.wants(event.type):
            continue
        headers = {**message.headers, "X-Pizzeria-Signature": signature(sub.secret, message.body)}
        try:
            response = requests.post(sub.url, data=message.body, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            transient.append(f"{sub.url}: {type(exc).__name__}")
            continue
        if 200 <= response.status_code < 300:
            accepted += 1
        elif response.status_code >= 500 or response.status_code in TRANSIENT_STATUS:
            transient.append(f"{sub.url}: HTTP {response.status_code}")
        else:
            permanent.append(f"{sub.url}: HTTP {response.status_code} {response.text[:200]}")
    if transient:
        raise TransientError("; ".join(transient + permanent))
    if permanent:
        raise PermanentError("; ".join(permanent))
    logger.info("event_id=%s type=%s sent to %s webhooks", event.event_id, event.type, accepted)
    return accepted
