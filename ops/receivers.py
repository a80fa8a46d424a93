"""Counters fed by signals: orders placed (on commit, so a rolled-back order never counts), and the
last batch of a worker process that exits."""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_shutdown
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from pizzeria.observability import counters


@receiver(post_save, sender="orders.Order", dispatch_uid="ops.count_orders_placed")
def count_order_placed(
    sender: type,
    instance: object,
    created: bool = False,
    raw: bool = False,
    using: str | None = None,
    **kwargs: Any,
) -> None:
    if created and not raw:
        transaction.on_commit(counters.order_placed, using=using or "default")


@worker_process_shutdown.connect(dispatch_uid="ops.flush_counters")
def flush_counters(**kwargs: Any) -> None:
    """A prefork child that exits (warm shutdown, max tasks) sends its last batch of counts."""
    counters.flush()
