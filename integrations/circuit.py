"""A circuit breaker per subscription, kept in its row.

closed ── N consecutive "down" failures ──▶ open (manager e-mailed) ── cool-down over ──▶ half-open
half-open: the next delivery is the probe (one at a time: a row lock taken with SKIP LOCKED);
success ▶ closed, and the postponed deliveries are sent at once; failure ▶ open again with the
cool-down doubled (up to WEBHOOKS_CIRCUIT_COOLDOWN_MAX).

While open, a claimed delivery is postponed to the end of the cool-down (DeliveryPostponed): no
request, no attempt spent, never dead. Other subscriptions have their own rows and deliveries,
so a broken receiver never delays a healthy one.

Outcomes, as the receiver's availability: "down" (connection error, timeout, 5xx) counts;
"up" (2xx, and also 3xx/4xx: something answered) closes; "neutral" (429, a refused target)
changes nothing, except that a probe ending neutral re-opens without doubling.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from eventbus.clock import DbNow
from eventbus.errors import DeliveryPostponed
from eventbus.models import Delivery
from eventbus.outbox import publish_deliveries
from integrations.events import WebhookCircuitOpened
from integrations.models import WebhookSubscription

logger = logging.getLogger(__name__)

UP, DOWN, NEUTRAL = "up", "down", "neutral"
POSTPONED_CLASS = f"{DeliveryPostponed.__module__}.{DeliveryPostponed.__qualname__}"
FIELDS = (
    "circuit_state",
    "consecutive_failures",
    "circuit_opened_at",
    "circuit_retry_at",
    "circuit_opens",
    "last_error",
    "last_error_at",
    "updated_at",
)


def cooldown(opens: int) -> dt.timedelta:
    base = settings.WEBHOOKS_CIRCUIT_COOLDOWN
    return dt.timedelta(seconds=min(settings.WEBHOOKS_CIRCUIT_COOLDOWN_MAX, base * 2 ** max(opens - 1, 0)))


def circuit_admit(subscription: WebhookSubscription) -> bool:
    """Let a delivery through: False when closed, True when it is the half-open probe.

    Raises DeliveryPostponed while the circuit is open, or while another delivery is the probe.
    """
    if subscription.circuit_state == WebhookSubscription.Circuit.CLOSED:
        return False
    now = timezone.now()
    if subscription.circuit_retry_at and subscription.circuit_retry_at > now:
        raise DeliveryPostponed(
            f"circuit open for subscription {subscription.pk} until {subscription.circuit_retry_at.isoformat()}",
            until=subscription.circuit_retry_at,
        )
    # Half-open: whoever locks the row is the probe, until its transaction ends; the others
    # come back once the probe has had its deadline.
    probe = bool(
        WebhookSubscription.objects.select_for_update(skip_locked=True)
        .filter(pk=subscription.pk, circuit_state=WebhookSubscription.Circuit.OPEN)
        .values_list("pk", flat=True)[:1]
    )
    if not probe:
        until = now + dt.timedelta(seconds=settings.WEBHOOKS_TIMEOUT + 1)
        raise DeliveryPostponed(
            f"circuit half-open for subscription {subscription.pk}: a probe is in flight", until=until
        )
    logger.info("subscription_id=%s circuit half-open: this delivery is the probe", subscription.pk)
    return True


def circuit_outcome(
    *, subscription_id: int, outcome: str, error: str = "", retry_after: float | None = None
) -> None:
    """Record a delivery's outcome; runs in the transaction that records the delivery's result."""
    with transaction.atomic():
        sub = WebhookSubscription.objects.select_for_update().filter(pk=subscription_id).first()
        if sub is None:
            return
        if outcome == UP:
            _close(sub)
        elif outcome == DOWN:
            _failure(sub, error)
        elif sub.circuit_state == WebhookSubscription.Circuit.OPEN:
            # A probe that ended neither up nor down: wait another cool-down (or what was asked).
            wait = max(cooldown(sub.circuit_opens), dt.timedelta(seconds=retry_after or 0))
            sub.circuit_retry_at = timezone.now() + wait
            sub.save(update_fields=FIELDS)


def _close(sub: WebhookSubscription) -> None:
    if sub.circuit_state == WebhookSubscription.Circuit.CLOSED and not sub.consecutive_failures:
        return  # the common case writes nothing
    was_open = sub.circuit_state == WebhookSubscription.Circuit.OPEN
    sub.circuit_state = WebhookSubscription.Circuit.CLOSED
    sub.consecutive_failures = 0
    sub.circuit_opens = 0
    sub.circuit_retry_at = None
    sub.save(update_fields=FIELDS)
    if was_open:
        logger.warning("subscription_id=%s circuit closed: the probe succeeded", sub.pk)
        deliveries_release(subscription=sub)


def _failure(sub: WebhookSubscription, error: str) -> None:
    now = timezone.now()
    sub.consecutive_failures += 1
    sub.last_error, sub.last_error_at = error[:2000], now
    if sub.circuit_state == WebhookSubscription.Circuit.OPEN:
        # Deliveries are postponed while open, so a failure now is the probe's (or one that was
        # already in flight when it opened): open again, for longer.
        sub.circuit_opens += 1
        sub.circuit_retry_at = now + cooldown(sub.circuit_opens)
        logger.warning("subscription_id=%s probe failed; circuit open until %s", sub.pk, sub.circuit_retry_at)
    elif sub.consecutive_failures >= settings.WEBHOOKS_CIRCUIT_FAILURE_THRESHOLD:
        sub.circuit_state = WebhookSubscription.Circuit.OPEN
        sub.circuit_opens = 1
        sub.circuit_opened_at = now
        sub.circuit_retry_at = now + cooldown(1)
        sub.record(
            WebhookCircuitOpened(
                subscription_id=sub.pk,
                subscription_name=sub.name,
                url=sub.url,
                consecutive_failures=sub.consecutive_failures,
                last_error=sub.last_error[:500],
                retry_at=sub.circuit_retry_at,
            )
        )
        logger.error(
            "subscription_id=%s circuit opened after %s consecutive failures (last: %s); retry at %s",
            sub.pk,
            sub.consecutive_failures,
            error,
            sub.circuit_retry_at,
        )
        sub.save(update_fields=(*FIELDS, "version"))
        return
    sub.save(update_fields=FIELDS)


def deliveries_release(*, subscription: WebhookSubscription) -> int:
    """Make the subscription's postponed deliveries due now and send them after commit."""
    name = subscription.handler_name
    rows = list(
        Delivery.objects.filter(
            handler=name, status=Delivery.Status.RETRYING, last_error_class=POSTPONED_CLASS
        ).values_list("pk", "event__traceparent", "event__tracestate")
    )
    ids = [pk for pk, _, _ in rows]
    if ids:
        # Due now by the database's clock, like every due time the bus compares (eventbus/clock.py).
        Delivery.objects.filter(pk__in=ids).update(
            next_attempt_at=DbNow(), enqueued_at=DbNow(), updated_at=DbNow()
        )
        # Each message carries its event's trace context (NULL when tracing is off; eventbus/spans.py).
        items = [(pk, name, (tp, ts or "") if tp else None) for pk, tp, ts in rows]
        transaction.on_commit(lambda: publish_deliveries(items))
    return len(ids)


def circuit_reset(*, subscription: WebhookSubscription) -> None:
    """Staff: close the circuit now (the receiver is known to be back)."""
    circuit_outcome(subscription_id=subscription.pk, outcome=UP)
