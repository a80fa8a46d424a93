"""Delivering one event to one subscription: a bus delivery named integrations.webhook.<id>.

Each (event, subscription) is its own Delivery row, created with the event for every active
subscription that wants its type (registry.HandlerFamily): its own retries, dead letter, replay
and attempt log (status, duration, the first bytes of the answer in DeliveryAttempt.detail).

Outcomes: 2xx success; 410 Gone deactivates the subscription (dead, manager e-mailed); 429
retries no earlier than Retry-After; 408 and 5xx, timeouts and connection errors retry with the
bus's backoff; a redirect and any other 4xx are dead at once (a redirect is never followed).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.utils import timezone

from eventbus.cloudevents import to_http
from eventbus.errors import PermanentError, TransientError
from eventbus.events import DomainEvent, event_class
from eventbus.registry import HandlerFamily, HandlerSpec
from integrations import circuit, outbound
from integrations.catalogue import public_data
from integrations.models import HANDLER_PREFIX, WebhookSubscription
from integrations.services import subscription_deactivate
from integrations.signing import signature_headers
from pizzeria.observability import tracing

logger = logging.getLogger(__name__)
QUEUE = "integrations"


class SubscriptionGone(PermanentError):
    """The receiver answered 410 Gone: it wants no more events."""


def _failure(
    cls: type[PermanentError | TransientError],
    message: str,
    *,
    breaker: str,
    detail: dict,
    retry_after: float | None = None,
) -> PermanentError | TransientError:
    exc = (
        TransientError(message, detail=detail, retry_after=retry_after)
        if cls is TransientError
        else cls(message, detail=detail)
    )
    exc.breaker = breaker  # type: ignore[union-attr]  # read back by webhook_failed
    return exc


def webhook_request(
    subscription: WebhookSubscription, event: DomainEvent, *, now: dt.datetime
) -> tuple[dict, bytes]:
    """Headers and body: the CloudEvent in the subscription's mode, signed (Standard Webhooks)."""
    data = public_data(event, contact_fields=subscription.contact_fields or ())
    message = to_http(event, mode=subscription.content_mode, data=data)
    headers = dict(message.headers)
    headers.update(
        signature_headers(
            secrets=subscription.signing_secrets(now),
            msg_id=str(event.event_id),
            timestamp=now,
            body=message.body,
        )
    )
    return headers, message.body


def retry_after_seconds(value: str | None, *, now: dt.datetime) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - now).total_seconds(), 0.0)


def webhook_deliver(event: DomainEvent, *, subscription_id: int) -> dict[str, Any]:
    """POST the event to one subscription; return the attempt's detail or raise what it was."""
    sub = WebhookSubscription.objects.filter(pk=subscription_id).first()
    if sub is None or not sub.active:
        # Recorded while it was active, deactivated (or deleted) since: not sent.
        return {"sent": False, "reason": "subscription deleted" if sub is None else "subscription inactive"}
    if not sub.wants(event.type):
        return {"sent": False, "reason": f"subscription no longer wants {event.type}"}
    probe = circuit.circuit_admit(sub)
    now = timezone.now()
    headers, body = webhook_request(sub, event, now=now)
    detail: dict[str, Any] = {"url": sub.url, "mode": sub.content_mode, "probe": probe}
    try:
        # A CLIENT span under tracing (urllib3 is used directly: no instrumentation sees it); the
        # receiver gets its traceparent header, outside the signed content.
        with tracing.client_span("POST webhook", method="POST", url=sub.url, provider="webhook") as span:
            tracing.inject_headers(headers)
            response = outbound.post(
                sub.url,
                body=body,
                headers=headers,
                deadline=settings.WEBHOOKS_TIMEOUT,
                max_body=settings.WEBHOOKS_RESPONSE_BODY_LIMIT,
            )
            tracing.http_status(span, response.status)
    except outbound.TargetRefused as exc:
        raise _failure(
            PermanentError,
            f"Target refused: {exc}",
            breaker=circuit.NEUTRAL,
            detail={**detail, "error": str(exc)},
        ) from exc
    except Exception as exc:  # DNS, connection refused/reset, TLS, deadline: the receiver is away
        message = f"{type(exc).__name__}: {exc}"
        raise _failure(
            TransientError,
            f"{sub.url}: {message}",
            breaker=circuit.DOWN,
            detail={**detail, "error": message[:500]},
        ) from exc
    detail.update(
        status=response.status,
        duration_ms=round(response.duration_ms, 1),
        address=response.address,
        body=response.body.decode("utf-8", errors="replace"),
    )
    status = response.status
    if 200 <= status < 300:
        if probe or sub.consecutive_failures or sub.circuit_state != WebhookSubscription.Circuit.CLOSED:
            circuit.circuit_outcome(subscription_id=sub.pk, outcome=circuit.UP)
        logger.info("event_id=%s subscription_id=%s delivered: HTTP %s", event.event_id, sub.pk, status)
        return detail
    if status == 410:
        raise _failure(
            SubscriptionGone,
            f"{sub.url}: HTTP 410 Gone: subscription deactivated",
            breaker=circuit.UP,
            detail=detail,
        )
    if status == 429:
        wait = retry_after_seconds(response.headers.get("retry-after"), now=timezone.now())
        detail["retry_after"] = wait
        raise _failure(
            TransientError,
            f"{sub.url}: HTTP 429 Too Many Requests (Retry-After {wait})",
            breaker=circuit.NEUTRAL,
            detail=detail,
            retry_after=wait,
        )
    if status >= 500 or status == 408:
        raise _failure(TransientError, f"{sub.url}: HTTP {status}", breaker=circuit.DOWN, detail=detail)
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        raise _failure(
            PermanentError,
            f"{sub.url}: HTTP {status} redirect to {location!r} not followed",
            breaker=circuit.UP,
            detail={**detail, "location": location},
        )
    raise _failure(PermanentError, f"{sub.url}: HTTP {status}", breaker=circuit.UP, detail=detail)


def webhook_failed(exc: BaseException, *, delivery_id: int, status: str, subscription_id: int) -> None:
    """The bus's on_failure hook: count it for the breaker; a 410 deactivates the subscription."""
    if isinstance(exc, SubscriptionGone):
        subscription_deactivate(
            subscription_id=subscription_id,
            reason=f"the receiver answered 410 Gone (delivery {delivery_id})",
            actor="system",
        )
    breaker = getattr(exc, "breaker", circuit.NEUTRAL)
    circuit.circuit_outcome(
        subscription_id=subscription_id,
        outcome=breaker,
        error=str(exc),
        retry_after=getattr(exc, "retry_after", None),
    )


def subscribers_for(event_types: set[str]) -> dict[str, list[str]]:
    """Handler names of the active subscriptions that want each public type (HandlerFamily.members)."""
    public = set()
    for event_type in event_types:
        try:
            if event_class(event_type).public:
                public.add(event_type)
        except LookupError:
            continue
    if not public:
        return {}  # internal events cost no query
    wanted: dict[str, list[str]] = {}
    for pk, types in (
        WebhookSubscription.objects.filter(active=True).order_by("pk").values_list("pk", "event_types")
    ):
        for event_type in public:
            if not types or event_type in types:
                wanted.setdefault(event_type, []).append(f"{HANDLER_PREFIX}{pk}")
    return wanted


def webhook_spec(name: str) -> HandlerSpec:
    """The spec of integrations.webhook.<id> (HandlerFamily.resolve): no database access."""
    try:
        subscription_id = int(name.removeprefix(HANDLER_PREFIX))
    except ValueError:
        raise LookupError(f"No handler named {name!r} is registered") from None
    return HandlerSpec(
        name=name,
        event_type="",
        func=partial(webhook_deliver, subscription_id=subscription_id),
        queue=QUEUE,
        on_failure=partial(webhook_failed, subscription_id=subscription_id),
    )


FAMILY = HandlerFamily(prefix=HANDLER_PREFIX, members=subscribers_for, resolve=webhook_spec)
