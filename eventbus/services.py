"""Staff operations on deliveries: replay and discard (admin actions and the deadletters command)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from eventbus.clock import DbNow
from eventbus.models import Delivery, OutboxEvent
from eventbus.outbox import publish_deliveries
from pizzeria.observability import tracing

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
            next_attempt_at=DbNow(),
            enqueued_at=DbNow(),
            finished_at=None,
            updated_at=now,
        )
        if items:
            # Under tracing, the replay's own trace (the staff action) carries the messages; each
            # attempt links back to the order's trace (eventbus/spans.py).
            trace = tracing.current_traceparent()
            messages = [(pk, handler, trace) for pk, handler in items] if trace is not None else items
            transaction.on_commit(lambda: publish_deliveries(messages))
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


def deliveries_purge(
    *, older_than_days: int | None = None, batch_size: int | None = None, time_budget: float | None = None
) -> tuple[int, int]:
    """Delete succeeded/discarded deliveries past retention, then events with no delivery left.

    In bounded batches (each its own short transaction) and within a time budget under the
    task's soft time limit: a backlog of 100,000 rows neither holds one huge transaction nor gets
    the task killed halfway; what is left goes in the next run.
    """
    days = settings.EVENTBUS_RETENTION_DAYS if older_than_days is None else older_than_days
    batch_size = batch_size or settings.EVENTBUS_PURGE_BATCH
    budget = settings.EVENTBUS_PURGE_TIME_BUDGET if time_budget is None else time_budget
    deadline = time.monotonic() + budget
    cutoff = timezone.now() - dt.timedelta(days=days)
    finished = Delivery.objects.filter(
        status__in=(Delivery.Status.SUCCEEDED, Delivery.Status.DISCARDED), finished_at__lt=cutoff
    )
    orphans = OutboxEvent.objects.filter(created_at__lt=cutoff, deliveries__isnull=True)
    deleted_deliveries = deleted_events = 0
    for queryset, model in ((finished, Delivery), (orphans, OutboxEvent)):
        while time.monotonic() < deadline:
            ids: list[Any] = list(queryset.values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            with transaction.atomic():
                _, per_model = model.objects.filter(pk__in=ids).delete()
            if model is Delivery:
                deleted_deliveries += per_model.get(Delivery._meta.label, 0)
            else:
                deleted_events += per_model.get(OutboxEvent._meta.label, 0)
    if deleted_deliveries or deleted_events:
        logger.info(
            "purge: %s deliveries and %s events past retention deleted", deleted_deliveries, deleted_events
        )
    return deleted_deliveries, deleted_events
