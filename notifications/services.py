"""Sending notifications exactly once per (event, channel, template, recipient), and staff actions.

    notification_send(event=..., channel="sms", template="order_ready", recipient="+1…",
                      context={...}, fallback_email="a@b.example")

The log row is opened (get_or_create) and claimed before the provider call and updated after it
through notifications.journal, which commits at once even though handlers run inside the
delivery's transaction. Outcomes:
  provider accepted → "sent" (console: "logged"); a redelivery finds it and sends nothing;
  429 / 5xx / no connection → "failed", TransientError re-raised: the bus retries with backoff;
  a timeout or reset after the request left (the outcome is unknown: the provider may hold the
  message) → "failed" and unknown_since set; the next attempt first asks the provider (SMS:
  Twilio's message list) and records the message it holds instead of sending a second one, and
  if the provider cannot be asked, it fails again without sending. E-mail cannot be asked: it is
  sent again, with the same Message-ID (at-least-once; docs/operations.md);
  4xx rejection → "dead", the PermanentError re-raised so the delivery is a dead letter with the
  provider's code and message — after, for an SMS, the same message went out by email when the
  customer has an address (a row with fallback_of pointing at the dead SMS).
  401/403 (the provider refused our credentials) → the row stays "failed" (the message is fine)
  and the delivery is a dead letter at once, with no fallback: once the key is fixed, replaying
  the dead letter sends the message.
A dead row is not sent again by a replayed delivery (the number is still invalid); the replay
only completes a fallback that had not gone out. Staff send again with the admin's "resend".
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from eventbus import DomainEvent, PermanentError, TransientError
from notifications import journal, messages
from notifications.channels import (
    OutgoingMessage,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    SendResult,
    finder_for,
    sender_for,
)
from notifications.channels.base import ProviderCredentialsError
from notifications.events import NotificationResendRequested
from notifications.messages import Rendered
from notifications.models import Notification
from orders.phones import sms_region_allowed, sms_regions
from pizzeria.actors import Actor, actor_name
from pizzeria.security.privacy import mask_contact, mask_phone, mask_text

logger = logging.getLogger(__name__)

SMS = Notification.Channel.SMS
EMAIL = Notification.Channel.EMAIL


def notification_send(
    *,
    event: DomainEvent,
    channel: str,
    template: str,
    recipient: str,
    context: dict[str, Any] | None = None,
    rendered: Rendered | None = None,
    order_id: int | None = None,
    fallback_email: str = "",
    fallback_of: Notification | None = None,
    resend_of: Notification | None = None,
) -> Notification:
    rendered = rendered or messages.render(channel, template, context or {})
    row = journal.notification_open(
        key={"event_id": event.event_id, "channel": channel, "template": template, "recipient": recipient},
        defaults={
            "event_type": event.type,
            "order_id": order_id,
            "subject": rendered.subject,
            "body": rendered.body,
            "html_body": rendered.html,
            "fallback_of": fallback_of,
            "resend_of": resend_of,
        },
    )
    if row.accepted or row.status == Notification.Status.SUPPRESSED:
        logger.info(
            "notification_id=%s event_id=%s %s %s already %s; not sent again",
            row.pk,
            event.event_id,
            channel,
            template,
            row.status,
        )
        return row
    if channel == SMS and (refusal := sms_refusal(row)):
        logger.info(
            "notification_id=%s event_id=%s SMS %s suppressed: %s", row.pk, event.event_id, template, refusal
        )
        return journal.notification_update(
            pk=row.pk, status=Notification.Status.SUPPRESSED, last_error=refusal
        )
    if row.status == Notification.Status.DEAD:
        error: PermanentError = PermanentError(row.last_error or f"notification #{row.pk} was rejected")
    else:
        outcome = _attempt(row, event=event)
        if isinstance(outcome, Notification):
            return outcome
        error = outcome
    if isinstance(error, ProviderCredentialsError):
        raise error  # our key, not the recipient: no fallback; a replay after the fix sends it
    if channel == SMS and fallback_email:
        try:
            fallback = notification_send(
                event=event,
                channel=EMAIL,
                template=template,
                recipient=fallback_email,
                context=context,
                order_id=order_id,
                fallback_of=row,
            )
        except PermanentError as fallback_error:
            raise PermanentError(f"{error}; the email fallback was rejected too: {fallback_error}") from error
        raise PermanentError(f"{error} (sent by email instead: notification #{fallback.pk})") from error
    raise error


def sms_refusal(row: Notification) -> str:
    """Why this SMS must not go out, or "" — checked before every provider call.

    Orders already refuse numbers outside SMS_ALLOWED_REGIONS and flooded numbers; this is the
    last gate for every path that sends (older orders, profile numbers, staff resends).
    """
    if not sms_region_allowed(row.recipient):
        return f"{mask_phone(row.recipient)} is outside SMS_ALLOWED_REGIONS ({', '.join(sms_regions())})"
    cap = settings.SMS_PER_RECIPIENT_PER_HOUR
    recent = (
        Notification.objects.filter(
            channel=SMS, recipient=row.recipient, created_at__gte=timezone.now() - dt.timedelta(hours=1)
        )
        .exclude(pk=row.pk)
        .exclude(status__in=[Notification.Status.SUPPRESSED, Notification.Status.DEAD])
        .count()
    )
    if recent >= cap:
        return f"{mask_phone(row.recipient)} already had {recent} SMS in the last hour (cap {cap})"
    return ""


def _attempt(row: Notification, *, event: DomainEvent) -> Notification | ProviderPermanentError:
    """Call the provider once for a claimed row; return the updated row or the rejection."""
    claimed = journal.notification_claim(pk=row.pk)
    if claimed is None:
        current = Notification.objects.get(pk=row.pk)
        if current.accepted:
            return current
        raise TransientError(f"notification #{row.pk} is {current.status} in another attempt")
    message = OutgoingMessage(
        notification_id=row.pk,
        recipient=row.recipient,
        body=row.body,
        subject=row.subject,
        html=row.html_body,
        reference=f"{row.pk}.{row.event_id.hex}",
    )
    if claimed.unknown_since is not None:
        known = _reconcile(claimed, message, since=claimed.unknown_since, event=event)
        if known is not None:
            return known
    try:
        result = sender_for(row.channel)(message)
    except ProviderPermanentError as exc:
        # Refused credentials say nothing about the message: it stays sendable (FAILED) so a
        # replay after the key is fixed sends it; a refused message is DEAD.
        ours = isinstance(exc, ProviderCredentialsError)
        journal.notification_update(
            pk=row.pk,
            status=Notification.Status.FAILED if ours else Notification.Status.DEAD,
            provider=exc.provider,
            last_error=str(exc),
            last_error_code=exc.code or str(exc.status or ""),
        )
        logger.error(
            "notification_id=%s event_id=%s %s: %s",
            row.pk,
            event.event_id,
            "not sent" if ours else "rejected",
            exc,
        )
        return exc
    except Exception as exc:  # transient or unknown: the bus retries (unknown counts as transient)
        fields: dict[str, Any] = {
            "status": Notification.Status.FAILED,
            "last_error": mask_text(f"{type(exc).__name__}: {exc}")[:2000],
            "last_error_code": str(getattr(exc, "code", "") or getattr(exc, "status", "") or ""),
        }
        # Only a definite refusal (a 5xx/429 answer, no connection) proves nothing went out;
        # a timeout, a reset or an error we cannot classify may have left the message with the
        # provider: the next attempt asks before sending again.
        unknown = isinstance(exc, ProviderOutcomeUnknown) or not isinstance(exc, ProviderError)
        if unknown:
            fields["unknown_since"] = claimed.unknown_since or claimed.sending_at
            fields["unknown_outcomes"] = F("unknown_outcomes") + 1
        journal.notification_update(pk=row.pk, **fields)
        logger.warning(
            "notification_id=%s event_id=%s failed%s, will retry: %s",
            row.pk,
            event.event_id,
            " (outcome unknown)" if unknown else "",
            exc,
        )
        raise
    return _sent(claimed, result, event=event)


def _sent(
    row: Notification, result: SendResult, *, event: DomainEvent, reconciled: bool = False
) -> Notification:
    now = timezone.now()
    sent = journal.notification_update(
        pk=row.pk,
        status=Notification.Status.LOGGED if result.logged_only else Notification.Status.SENT,
        provider=result.provider,
        provider_message_id=result.message_id,
        sent_at=now,
        last_error="",
        last_error_code="",
        **({"reconciled_at": now} if reconciled else {}),
    )
    logger.info(
        "notification_id=%s event_id=%s %s %s to %s %s via %s id=%s%s",
        row.pk,
        event.event_id,
        row.channel,
        row.template,
        mask_contact(row.recipient),
        sent.status,
        result.provider,
        result.message_id or "-",
        " (found at the provider after an unknown outcome; not sent again)" if reconciled else "",
    )
    return sent


def _reconcile(
    claimed: Notification, message: OutgoingMessage, *, since: dt.datetime, event: DomainEvent
) -> Notification | ProviderPermanentError | None:
    """After an unknown outcome: record the message the provider already holds as this row's and
    return the row, or None when it holds none (the caller sends). Never sends blind: when the
    provider cannot be asked, the attempt fails (TransientError) and the next one asks again."""
    finder = finder_for(claimed.channel)
    if finder is None:  # e-mail: no lookup exists; at-least-once, marked (channels/email.py)
        logger.warning(
            "notification_id=%s event_id=%s: an earlier attempt's outcome is unknown and %s cannot be "
            "asked; sending again (a second copy carries the same Message-ID)",
            claimed.pk,
            event.event_id,
            claimed.channel,
        )
        return None
    try:
        held = finder(message, since=since)
    except ProviderError as exc:
        journal.notification_update(
            pk=claimed.pk,
            status=Notification.Status.FAILED,
            last_error=str(exc)[:2000],
            last_error_code=exc.code or str(exc.status or ""),
        )
        logger.warning(
            "notification_id=%s event_id=%s: cannot ask %s whether it holds the message; not sent, "
            "will retry: %s",
            claimed.pk,
            event.event_id,
            exc.provider,
            exc,
        )
        if isinstance(exc, ProviderPermanentError):  # our credentials: as for a send
            return exc
        if isinstance(exc, TransientError):
            exc.detail = {"outcome": "lookup failed", "provider": exc.provider}
        raise
    ids = [r.message_id for r in held]
    taken = set(
        Notification.objects.filter(provider_message_id__in=ids)
        .exclude(pk=claimed.pk)
        .values_list("provider_message_id", flat=True)
    )
    ours = [r for r in held if r.message_id not in taken]  # another row's message is not this one
    if not ours:
        logger.info(
            "notification_id=%s event_id=%s: the provider holds no copy since %s; sending",
            claimed.pk,
            event.event_id,
            since.isoformat(),
        )
        return None
    if len(ours) > 1:
        logger.error(
            "notification_id=%s event_id=%s: the provider holds %s copies (%s); keeping the first",
            claimed.pk,
            event.event_id,
            len(ours),
            ", ".join(r.message_id for r in ours),
        )
    found = ours[0]
    sent = _sent(claimed, found, event=event, reconciled=True)
    if found.provider_status:
        # Twilio's status callbacks for this message came while its sid was unknown here (the send
        # timed out) and were dropped; the list's status is where they had got to.
        return (
            notification_status_update(
                message_sid=found.message_id,
                status=found.provider_status,
                error_code=found.error_code,
                via="Twilio's message list",
            )
            or sent
        )
    return sent


# --- resend (staff) ---------------------------------------------------------------------------
def notification_resend_request(*, notifications: Iterable[Notification], actor: Actor = None) -> int:
    """Record NotificationResendRequested for each row; the bus delivers it to notification_resend."""
    requested_by = actor_name(actor)
    count = 0
    for pk in [n.pk for n in notifications]:
        with transaction.atomic():
            row = Notification.objects.select_for_update().get(pk=pk)
            row.record(NotificationResendRequested(notification_id=row.pk, requested_by=requested_by))
            row.save(update_fields=["version"])
        count += 1
    logger.info("resend of %s notifications requested by %s", count, requested_by)
    return count


def notification_resend(*, event: NotificationResendRequested) -> Notification:
    """Send a logged notification again, as a new row of its own (resend_of the original)."""
    original = Notification.objects.get(pk=event.notification_id)
    return notification_send(
        event=event,
        channel=original.channel,
        template=original.template,
        recipient=original.recipient,
        rendered=Rendered(body=original.body, subject=original.subject, html=original.html_body),
        order_id=original.order_id,
        resend_of=original,
    )


# --- Twilio status callback -------------------------------------------------------------------
CALLBACK_STATUS = {
    "sent": Notification.Status.SENT,
    "delivered": Notification.Status.DELIVERED,
    "undelivered": Notification.Status.UNDELIVERED,
    "failed": Notification.Status.FAILED,
}
FINAL = (Notification.Status.DELIVERED, Notification.Status.UNDELIVERED, Notification.Status.FAILED)


def notification_status_update(
    *, message_sid: str, status: str, error_code: str = "", via: str = "status callback"
) -> Notification | None:
    """Apply a Twilio delivery status; callbacks can arrive out of order, a final status stays."""
    # Kept to the columns' width: a longer value (a callback or a listed message) is cut, not a 500.
    status = status[: Notification._meta.get_field("provider_status").max_length]
    error_code = error_code[: Notification._meta.get_field("last_error_code").max_length]
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update()
            .filter(provider="twilio", provider_message_id=message_sid)
            .first()
        )
        if row is None:
            logger.warning("status callback for unknown message sid=%s status=%s", message_sid, status)
            return None
        fields: dict[str, Any] = {"provider_status": status, "updated_at": timezone.now()}
        new = CALLBACK_STATUS.get(status)
        if new and not (row.status in FINAL and new == Notification.Status.SENT):
            fields["status"] = new
            if new == Notification.Status.DELIVERED:
                fields["delivered_at"] = timezone.now()
            if new in (Notification.Status.UNDELIVERED, Notification.Status.FAILED):
                fields["last_error_code"] = error_code
                fields["last_error"] = f"twilio reported {status}" + (
                    f" (error {error_code})" if error_code else ""
                )
        Notification.objects.filter(pk=row.pk).update(**fields)
        row.refresh_from_db()
    logger.info("notification_id=%s sid=%s %s %s -> %s", row.pk, message_sid, via, status, row.status)
    return row
