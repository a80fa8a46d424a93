"""Staff operations on deliveries: replay and discard (admin actions and the deadletters command)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from pizzeria.eventbus.models import Delivery, OutboxEvent
from pizzeria.eventbus.outbox import publish_deliveries

logger = logging.getLogger(__name__)

REPLAYABLE = (Delivery.Status.DEAD, Delivery.Status.DISCARDED)


def delivery_replay(*, deliveries: QuerySet[Delivery] | Iterable[Delivery], actor: str = "") -> int:
    """Run the handler of each dead (or discarded) delivery again, with a fresh retry budget.

    History is kept: attempts go on counting and the attempt log stays.
    """
    ids = [d.pk for d in deliveries]
    now = timezone.now()
    with transaction.atomic():
        items = list(
            Delivery.objects.select_for_update()
            .filter(pk__in=ids, status__in=REPLAYABLE)
            .values_list("pk", "handler")
        )
        Delivery.objects.filter(pk__in=[pk for pk, _ in items]).update(
            status=Delivery.Status.PENDING,
            attempts_before_replay=F("attempts"),
            next_attempt_at=now,
            enqueued_at=now,
            finished_at=None,
            updated_at=now,
        )
        if items:
            transaction.on_commit(lambda: publish_deliveries(items))
    for pk, handler in items:
        logger.info("delivery_id=%s handler=%s replayed by %s", pk, handler, actor or "system")
    return len(items)


def delivery_discard(*, deliveries: QuerySet[Delivery] | Iterable[Delivery], actor: str = "") -> int:
    ids = [d.pk for d in deliveries]
    now = timezone.now()
    updated = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.DEAD).update(
        status=Delivery.Status.DISCARDED, finished_at=now, updated_at=now
    )
    logger.info("%s dead deliveries discarded by %s: %s", updated, actor or "system", ids)
    return updated


def deliveries_purge(*, older_than_days: int | None = None) -> tuple[int, int]:
    """Delete succeeded/discarded deliveries past retention, then events with no delivery left."""
    days = settings.EVENTBUS_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - dt.timedelta(days=days)
    deleted_deliveries, _ = Delivery.objects.filter(
        status__in=(Delivery.Status.SUCCEEDED, Delivery.Status.DISCARDED), finished_at__lt=cutoff
    ).delete()
    deleted_events, _ = OutboxEvent.objects.filter(created_at__lt=cutoff, deliveries__isnull=True).delete()
    return deleted_deliveries, deleted_events
