"""Durable writes to the notification log, outside the delivery's transaction.

A handler runs inside the delivery's transaction, which rolls back when it raises. The log must
not: the attempt count, the provider's error, a permanent rejection and, above all, the fact that
the provider *accepted* a message have to survive a later failure in the same handler (the email
fallback after a dead SMS, the second recipient of a two-recipient email) and a lost lease. So the
log is written on a separate connection (a short-lived thread: Django connections are per thread)
that commits at once, like the bus writes DeliveryAttempt rows after the rollback.

An attempt that dies after calling the provider (before the "sent" write commits) leaves the row
"sending". Before it is older than NOTIFY_SENDING_STALE_SECONDS (default 2 × NOTIFY_HTTP_TIMEOUT
+ 5 s) an attempt that finds it backs off with a TransientError, so two workers racing on an
expired lease never both call the provider. After that the next claim takes it as an unknown
outcome (unknown_since, unknown_outcomes), like a timeout: the provider is asked before sending
again where it can be (SMS), and e-mail is sent again (notifications.services).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Case, DateTimeField, F, PositiveIntegerField, Q, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.channels.base import http_timeout
from notifications.models import Notification

T = TypeVar("T")


def durable(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run fn so its writes commit now, whatever the caller's transaction does later."""
    conn = connections[DEFAULT_DB_ALIAS]
    if not conn.in_atomic_block:
        return fn(*args, **kwargs)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=target, name="notifications-journal", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def stale_after() -> dt.timedelta:
    # Past this, the attempt that claimed the row has finished its HTTP call or died: a "sending"
    # row this old will never be completed by it.
    seconds = settings.NOTIFY_SENDING_STALE_SECONDS
    return dt.timedelta(seconds=2 * http_timeout() + 5 if seconds is None else seconds)


def _open(key: dict, defaults: dict) -> Notification:
    row, _ = Notification.objects.get_or_create(**key, defaults=defaults)
    return row


def _claim(pk: int) -> Notification | None:
    now = timezone.now()
    # Never a row the provider accepted (it has a message id, even if a callback said "failed").
    claimable = Q(status__in=(Notification.Status.QUEUED, Notification.Status.FAILED)) | Q(
        status=Notification.Status.SENDING, sending_at__lt=now - stale_after()
    )
    claimable &= Q(provider_message_id="")
    # A stale "sending" row (the UPDATE reads the old values): its attempt died during or after
    # the provider call, so the provider may hold the message.
    died = Q(status=Notification.Status.SENDING)
    updated = Notification.objects.filter(claimable, pk=pk).update(
        status=Notification.Status.SENDING,
        sending_at=now,
        attempts=F("attempts") + 1,
        updated_at=now,
        unknown_since=Case(
            When(died, then=Coalesce(F("unknown_since"), F("sending_at"))),
            default=F("unknown_since"),
            output_field=DateTimeField(),
        ),
        unknown_outcomes=Case(
            When(died, then=F("unknown_outcomes") + 1),
            default=F("unknown_outcomes"),
            output_field=PositiveIntegerField(),
        ),
    )
    return Notification.objects.get(pk=pk) if updated else None


def _update(pk: int, fields: dict) -> Notification:
    Notification.objects.filter(pk=pk).update(updated_at=timezone.now(), **fields)
    return Notification.objects.get(pk=pk)


def notification_open(*, key: dict, defaults: dict) -> Notification:
    """Get or create the log row for (event, channel, template, recipient)."""
    return durable(_open, key, defaults)


def notification_claim(*, pk: int) -> Notification | None:
    """Take the right to call the provider for this row (queued/failed, or a stale "sending");
    the claimed row, or None when another attempt holds it or the provider accepted it."""
    return durable(_claim, pk)


def notification_update(*, pk: int, **fields: Any) -> Notification:
    return durable(_update, pk, fields)
