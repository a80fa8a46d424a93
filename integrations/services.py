"""Staff operations on webhook subscriptions (admin actions call these)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from eventbus.models import Delivery
from integrations import circuit
from integrations.events import WebhookSubscriptionDeactivated
from integrations.models import WebhookSubscription
from integrations.secrets import secret_generate

logger = logging.getLogger(__name__)


def subscription_create(
    *,
    name: str,
    url: str,
    event_types: list[str] | None = None,
    contact_fields: list[str] | None = None,
    content_mode: str = WebhookSubscription.ContentMode.STRUCTURED_MODE,
) -> tuple[WebhookSubscription, str]:
    """Create a subscription with a generated secret; return it and the secret (shown once)."""
    subscription = WebhookSubscription(
        name=name,
        url=url,
        event_types=event_types or [],
        contact_fields=contact_fields or [],
        content_mode=content_mode,
    )
    secret = secret_generate()
    subscription.secret_set(secret)
    subscription.full_clean(exclude=["secret_encrypted", "secret_hint"])
    subscription.save()
    return subscription, secret


def subscription_rotate_secret(*, subscription: WebhookSubscription, actor: str = "") -> str:
    """A new secret signs from now on; the old one signs too until the overlap window ends."""
    with transaction.atomic():
        sub = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        now = timezone.now()
        secret = secret_generate()
        sub.previous_secret_encrypted = sub.secret_encrypted
        sub.previous_secret_expires_at = now + dt.timedelta(hours=settings.WEBHOOKS_SECRET_OVERLAP_HOURS)
        sub.secret_rotated_at = now
        sub.secret_set(secret)
        sub.save(
            update_fields=[
                "secret_encrypted",
                "secret_hint",
                "previous_secret_encrypted",
                "previous_secret_expires_at",
                "secret_rotated_at",
                "updated_at",
            ]
        )
    logger.info("subscription_id=%s secret rotated by %s", sub.pk, actor or "system")
    return secret


def subscription_deactivate(*, subscription_id: int, reason: str, actor: str = "") -> int:
    """Stop sending to it: its waiting deliveries are discarded (replayable); staff are e-mailed.

    Returns how many waiting deliveries were discarded; 0 if it was already inactive.
    """
    now = timezone.now()
    with transaction.atomic():
        sub = WebhookSubscription.objects.select_for_update().filter(pk=subscription_id, active=True).first()
        if sub is None:
            return 0
        sub.active = False
        sub.deactivated_at = now
        sub.deactivated_reason = reason[:300]
        sub.record(
            WebhookSubscriptionDeactivated(
                subscription_id=sub.pk,
                subscription_name=sub.name,
                url=sub.url,
                reason=reason[:300],
                deactivated_by=actor or "system",
            )
        )
        sub.save(update_fields=["active", "deactivated_at", "deactivated_reason", "version", "updated_at"])
        discarded = Delivery.objects.filter(
            handler=sub.handler_name, status__in=(Delivery.Status.PENDING, Delivery.Status.RETRYING)
        ).update(
            status=Delivery.Status.DISCARDED,
            finished_at=now,
            updated_at=now,
            last_error=f"subscription deactivated: {reason}"[:2000],
        )
    logger.warning(
        "subscription_id=%s deactivated by %s (%s); %s waiting deliveries discarded",
        subscription_id,
        actor or "system",
        reason,
        discarded,
    )
    return discarded


def subscription_activate(*, subscription: WebhookSubscription, actor: str = "") -> bool:
    """Start sending again (new events only; replay discarded deliveries to catch up)."""
    updated = WebhookSubscription.objects.filter(pk=subscription.pk, active=False).update(
        active=True, deactivated_at=None, deactivated_reason="", updated_at=timezone.now()
    )
    if updated:
        circuit.circuit_reset(subscription=subscription)
        logger.info("subscription_id=%s activated by %s", subscription.pk, actor or "system")
    return bool(updated)
