from django.db import models


class OrderFact(models.Model):
    """One row per order, filled in as its events arrive (each handler sets its own columns).

    Every write is a plain "set these columns", so a redelivered event changes nothing.
    """

    order_id = models.BigIntegerField(unique=True)
    customer_id = models.BigIntegerField(null=True)
    placed_at = models.DateTimeField(null=True, db_index=True)
    total_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    item_count = models.PositiveIntegerField(null=True)
    fulfilment = models.CharField(max_length=20, blank=True)
    paid_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    payment_method = models.CharField(max_length=30, blank=True)
    paid_at = models.DateTimeField(null=True)
    cooking_started_at = models.DateTimeField(null=True)
    ready_at = models.DateTimeField(null=True)
    preparation_seconds = models.FloatField(null=True)
    delivered_at = models.DateTimeField(null=True)
    delivery_seconds = models.FloatField(null=True)
    cancelled_at = models.DateTimeField(null=True)
    cancel_reason = models.TextField(blank=True)
    # What the confirmation promised: delivery time (delivery) or ready time (pickup). On time =
    # delivered (or ready, for pickup) by then.
    promised_at = models.DateTimeField(null=True)
    # [{"pizza": name, "size": code, "toppings": [codes], "quantity": n}] for the top pizzas/toppings.
    items = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-placed_at"]
        permissions = [("view_dashboard", "Can view the manager's dashboard (/analytics/)")]

    def __str__(self) -> str:
        return f"order #{self.order_id}"


class DailyRollup(models.Model):
    day = models.DateField(unique=True)
    orders = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    # Paid amounts of the day's orders net of refunds (paid, then cancelled: refund due).
    revenue = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    refunds = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    average_order_value = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    average_preparation_seconds = models.FloatField(null=True)
    average_delivery_seconds = models.FloatField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return str(self.day)
