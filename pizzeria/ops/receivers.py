"""Counters fed by signals: orders placed (on commit, so a rolled-back order never counts)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from pizzeria.ops import counters


@receiver(post_save, sender="orders.Order", dispatch_uid="ops.count_orders_placed")
def count_order_placed(sender, instance, created: bool = False, raw: bool = False, using=None, **kwargs) -> None:
    if created and not raw:
        transaction.on_commit(counters.order_placed, using=using or "default")
