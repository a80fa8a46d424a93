"""The Order aggregate: its lifecycle methods check each transition, record who acted and when,
and record the matching event from orders/events.py. Saving publishes (eventbus)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from eventbus.aggregate import AggregateRoot
from eventbus.events import DomainEvent
from orders import events
from orders.errors import IllegalTransition
from orders.estimates import delivery_estimate, prep_estimate
from orders.models.customers import Customer
from orders.models.menu import Pizza, Size
from orders.tracker.live import order_changed
from pizzeria.actors import Actor, actor_name

MAX_QUANTITY = 20


class Order(AggregateRoot):
    aggregate_type = "order"

    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        PAID = "paid", "Paid"
        COOKING = "cooking", "Cooking"
        READY = "ready", "Ready"
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    class Fulfilment(models.TextChoices):
        DELIVERY = "delivery", "Delivery"
        PICKUP = "pickup", "Pickup"

    class PaymentStatus(models.TextChoices):
        UNPAID = "unpaid", "Unpaid"
        PAID = "paid", "Paid"
        REFUND_DUE = "refund_due", "Refund due"

    class PaymentMethod(models.TextChoices):
        CARD = "card", "Card"
        CASH = "cash", "Cash"
        ONLINE = "online", "Online"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    phone = models.CharField(max_length=20, blank=True, help_text="E.164 number used for this order")
    email = models.EmailField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLACED, db_index=True)
    fulfilment = models.CharField(max_length=10, choices=Fulfilment.choices)
    delivery_address = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    total_amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))

    payment_status = models.CharField(
        max_length=12, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    payment_method = models.CharField(max_length=10, choices=PaymentMethod.choices, blank=True)
    payment_reference = models.CharField(max_length=255, blank=True)

    estimated_ready_time = models.DateTimeField(null=True, blank=True)
    estimated_delivery_time = models.DateTimeField(null=True, blank=True)

    placed_at = models.DateTimeField(default=timezone.now, db_index=True)
    placed_by = models.CharField(max_length=150, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.CharField(max_length=150, blank=True)
    cooking_started_at = models.DateTimeField(null=True, blank=True)
    cooking_started_by = models.CharField(max_length=150, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    ready_by = models.CharField(max_length=150, blank=True)
    pickup_instructions = models.TextField(blank=True)
    out_for_delivery_at = models.DateTimeField(null=True, blank=True)
    out_for_delivery_by = models.CharField(max_length=150, blank=True)
    driver = models.CharField(max_length=150, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_by = models.CharField(max_length=150, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=150, blank=True)
    cancel_reason = models.TextField(blank=True)

    # Idempotency-Key of the API request that created it, and a hash of that request's body.
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)

    updated_at = models.DateTimeField(auto_now=True)

    # Every event this order has, when this instance knows them all (the one order_place just
    # saved): its timeline is then read from here instead of the outbox. None: ask the outbox.
    known_events: tuple | None = None
    # The events its last save wrote to the outbox, as written.
    saved_events: tuple = ()

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="order_idempotency_key_per_customer",
            ),
            models.CheckConstraint(
                condition=~Q(fulfilment="delivery") | ~Q(delivery_address=""),
                name="order_delivery_needs_address",
            ),
        ]
        indexes = [models.Index(fields=["customer", "-placed_at"], name="order_customer_recent_idx")]
        # One permission per staff action (the role matrix in docs/security.md); "change_order" only
        # edits the notes. Checked by the admin's actions and buttons and the kitchen displays.
        permissions = [
            ("cook_order", "Can start cooking orders and mark them ready"),
            ("dispatch_order", "Can send orders out for delivery and mark them delivered or collected"),
            ("take_payment", "Can mark orders paid"),
            ("cancel_order", "Can cancel orders (a paid order becomes refund due)"),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} ({self.status})"

    # --- lifecycle ---------------------------------------------------------------------------
    def _require(self, allowed: tuple[str, ...], action: str) -> None:
        if self.status not in allowed:
            names = " or ".join(self.Status(s).label.lower() for s in allowed)
            raise IllegalTransition(
                f"Order {self.pk} is {self.get_status_display().lower()}; only {names} orders can {action}"
            )

    def record_placed(self, *, items: Iterable[OrderItem], actor: Actor = None) -> events.OrderPlaced:
        """Record OrderPlaced; call once the items are priced and the total is set.

        items: the order's OrderItems with their pizza and size (the caller has them; asking the
        database would cost a query per order). Before the order's first save the event has no
        order_id yet: saving gives it one (drain_events).
        """
        self.placed_by = actor_name(actor)
        return self.record(
            events.OrderPlaced(
                order_id=self.pk,
                customer_id=self.customer_id,
                customer_phone=self.phone,
                items=[
                    events.OrderItemLine(
                        pizza=i.pizza.name,
                        size=i.size.code,
                        toppings=list(i.toppings),
                        quantity=i.quantity,
                        unit_price=i.unit_price,
                        pizza_id=i.pizza_id,
                    )
                    for i in items
                ],
                total_amount=self.total_amount,
                fulfilment=self.fulfilment,
                delivery_address=self.delivery_address,
                estimated_delivery_time=self.estimated_delivery_time,
                estimated_ready_time=self.estimated_ready_time,
                customer_email=self.email,
                notes=self.notes,
            )
        )

    def pay(self, *, method: str, reference: str = "", actor: Actor = None) -> None:
        """Take payment. Before cooking the order moves to `paid`; later (cash on delivery or on
        collection) only the payment status changes."""
        if self.status == self.Status.CANCELLED:
            raise IllegalTransition(f"Order {self.pk} is cancelled; it cannot be paid")
        if self.payment_status != self.PaymentStatus.UNPAID:
            raise IllegalTransition(f"Order {self.pk} is already paid")
        if method not in self.PaymentMethod.values:
            raise IllegalTransition(f"Unknown payment method {method!r}")
        now = timezone.now()
        if self.status == self.Status.PLACED:
            self.status = self.Status.PAID
        self.payment_status = self.PaymentStatus.PAID
        self.payment_method = method
        self.payment_reference = reference
        self.paid_at, self.paid_by = now, actor_name(actor)
        self.record(
            events.PaymentProcessed(
                order_id=self.pk,
                amount=self.total_amount,
                method=method,
                reference=reference,
                occurred_at=now,
            )
        )

    def start_cooking(self, *, actor: Actor = None, estimated_ready_time: dt.datetime | None = None) -> None:
        self._require((self.Status.PLACED, self.Status.PAID), "start cooking")
        now = timezone.now()
        pizzas = sum(i.quantity for i in self.items.all())
        self.status = self.Status.COOKING
        self.cooking_started_at, self.cooking_started_by = now, actor_name(actor)
        self.estimated_ready_time = estimated_ready_time or now + prep_estimate(pizzas=pizzas)
        if self.fulfilment == self.Fulfilment.DELIVERY:
            self.estimated_delivery_time = self.estimated_ready_time + delivery_estimate()
        self.record(
            events.OrderCookingStarted(
                order_id=self.pk,
                estimated_ready_time=self.estimated_ready_time,
                started_by=self.cooking_started_by,
                occurred_at=now,
            )
        )

    def mark_ready(self, *, actor: Actor = None, pickup_instructions: str = "") -> None:
        self._require((self.Status.COOKING,), "be marked ready")
        now = timezone.now()
        self.status = self.Status.READY
        self.ready_at, self.ready_by = now, actor_name(actor)
        self.pickup_instructions = pickup_instructions
        if self.fulfilment == self.Fulfilment.DELIVERY:
            self.estimated_delivery_time = now + delivery_estimate()
        self.record(
            events.OrderReady(
                order_id=self.pk,
                customer_id=self.customer_id,
                customer_phone=self.phone,
                preparation_time=now - (self.cooking_started_at or now),
                pickup_instructions=pickup_instructions,
                fulfilment=self.fulfilment,
                occurred_at=now,
            )
        )

    def send_out(self, *, driver: str, actor: Actor = None) -> None:
        if self.fulfilment != self.Fulfilment.DELIVERY:
            raise IllegalTransition(
                f"Order {self.pk} is for pickup; only delivery orders go out for delivery"
            )
        self._require((self.Status.READY,), "go out for delivery")
        driver = actor_name(driver).strip()
        if not driver:
            raise IllegalTransition(f"Order {self.pk} needs a driver to go out for delivery")
        limit = cast(models.CharField, self._meta.get_field("driver")).max_length or 0
        if len(driver) > limit:  # a free-text name longer than the column is a DataError otherwise
            raise IllegalTransition(f"The driver's name can have at most {limit} characters")
        now = timezone.now()
        self.status = self.Status.OUT_FOR_DELIVERY
        self.out_for_delivery_at, self.out_for_delivery_by = now, actor_name(actor)
        self.driver = driver
        self.estimated_delivery_time = now + delivery_estimate()
        self.record(
            events.OrderOutForDelivery(
                order_id=self.pk,
                driver=driver,
                estimated_delivery_time=self.estimated_delivery_time,
                occurred_at=now,
            )
        )

    def mark_delivered(self, *, actor: Actor = None) -> None:
        if self.fulfilment == self.Fulfilment.PICKUP:
            self._require((self.Status.READY,), "be collected")
        else:
            self._require((self.Status.OUT_FOR_DELIVERY,), "be marked delivered")
        now = timezone.now()
        self.status = self.Status.DELIVERED
        self.delivered_at, self.delivered_by = now, actor_name(actor)
        self.record(
            events.OrderDelivered(
                order_id=self.pk,
                delivered_at=now,
                delivery_duration=(now - self.out_for_delivery_at) if self.out_for_delivery_at else None,
                fulfilment=self.fulfilment,
                occurred_at=now,
            )
        )

    def cancel(self, *, reason: str, actor: Actor = None) -> None:
        self._require((self.Status.PLACED, self.Status.PAID), "be cancelled")
        now = timezone.now()
        self.status = self.Status.CANCELLED
        self.cancelled_at, self.cancelled_by = now, actor_name(actor)
        self.cancel_reason = reason
        if self.payment_status == self.PaymentStatus.PAID:
            self.payment_status = self.PaymentStatus.REFUND_DUE
        self.record(
            events.OrderCancelled(
                order_id=self.pk, reason=reason, cancelled_by=self.cancelled_by, occurred_at=now
            )
        )

    def drain_events(self) -> list[DomainEvent]:
        """The events to write (the bus calls it after the row is saved): one recorded before the
        first insert learns the order's id here, as its envelope's aggregate_id does."""
        drained = [
            # e is an order event here (it has order_id), which DomainEvent does not declare
            dataclasses.replace(e, order_id=self.pk) if getattr(e, "order_id", 0) is None else e  # type: ignore[call-arg]
            for e in super().drain_events()
        ]
        self.saved_events = tuple(drained)
        return drained

    def save(self, *args: Any, **kwargs: Any) -> None:
        changed = bool(self.pending_events)
        placed = self._state.adding
        super().save(*args, **kwargs)
        if changed:
            self.known_events = None  # no longer all of them
            # After commit, the customer's open tracker page re-reads the order (orders.tracker).
            # Not for the order being placed: no page can follow it before the answer gives its
            # link, and the note would cost every order request a Redis round trip for no one.
            if not placed:
                order_changed(order_id=self.pk)

    # --- reading -----------------------------------------------------------------------------
    @property
    def age(self) -> dt.timedelta:
        return timezone.now() - self.placed_at

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.DELIVERED, self.Status.CANCELLED)


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    pizza = models.ForeignKey(Pizza, on_delete=models.PROTECT, related_name="+")
    size = models.ForeignKey(Size, on_delete=models.PROTECT, related_name="+")
    # Topping codes as ordered: a snapshot, like the price, so menu edits never rewrite history.
    toppings = models.JSONField(default=list, blank=True)
    quantity = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)]
    )
    unit_price = models.DecimalField(max_digits=8, decimal_places=2)
    line_total = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=MAX_QUANTITY), name="orderitem_quantity_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.size} {self.pizza}"
