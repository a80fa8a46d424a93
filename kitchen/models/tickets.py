"""Kitchen tickets: one per order, snapshotting what the cooks need from OrderPlaced."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone


class KitchenTicket(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        COOKING = "cooking", "Cooking"
        READY = "ready", "Ready"
        CANCELLED = "cancelled", "Cancelled"

    class Dispatch(models.TextChoices):
        NONE = "", "In the kitchen"
        OUT = "out_for_delivery", "Out for delivery"
        DONE = "delivered", "Delivered / collected"

    # No FK: the kitchen only knows orders through their events (and orders' services/selectors).
    order_id = models.BigIntegerField(unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    priority = models.SmallIntegerField(default=0, help_text="Higher starts first; then the oldest.")
    estimated_prep_time = models.DurationField(default=dt.timedelta(minutes=12))
    estimated_ready_time = models.DateTimeField(null=True, blank=True)
    # [{"pizza", "size", "toppings", "quantity"}] as in OrderPlaced.items
    items = models.JSONField(default=list)
    # [{"ingredient", "unit", "missing"}] filled by the inventory handler
    shortages = models.JSONField(default=list, blank=True)
    fulfilment = models.CharField(max_length=10, default="delivery")
    delivery_address = models.TextField(blank=True)
    customer_phone = models.CharField(max_length=20, blank=True)
    notes = models.TextField(blank=True)
    placed_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=150, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    finished_by = models.CharField(max_length=150, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    dispatch_status = models.CharField(
        max_length=20, choices=Dispatch.choices, default=Dispatch.NONE, blank=True
    )
    driver = models.CharField(max_length=150, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "placed_at", "id"]
        indexes = [models.Index(fields=["status", "-priority", "placed_at"], name="ticket_queue_idx")]

    def __str__(self) -> str:
        return f"Ticket for order {self.order_id} ({self.status})"

    @property
    def age(self) -> dt.timedelta:
        return timezone.now() - self.placed_at

    @property
    def estimated_prep_time_minutes(self) -> int:
        return round(self.estimated_prep_time.total_seconds() / 60)

    @property
    def fulfilment_label(self) -> str:
        return {"delivery": "Delivery", "pickup": "Pickup"}.get(self.fulfilment, self.fulfilment)

    @property
    def pizza_count(self) -> int:
        return sum(int(i.get("quantity", 1)) for i in self.items)


class KitchenStation(models.Model):
    """The single kitchen (pk=1): its row is locked to serialise capacity decisions."""

    name = models.CharField(max_length=50, default="main")

    def __str__(self) -> str:
        return self.name
