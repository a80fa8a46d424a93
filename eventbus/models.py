from django.db import models
from django.db.models import Q


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change that caused it."""

    event_id = models.UUIDField(primary_key=True)
    type = models.CharField(max_length=200, db_index=True)
    schema_version = models.PositiveSmallIntegerField(default=1)
    aggregate_type = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=100)
    aggregate_version = models.PositiveIntegerField()
    occurred_at = models.DateTimeField()
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    # W3C trace context of the transaction that recorded the event (NULL when tracing is off):
    # every message for its deliveries carries it, whoever sends it (on commit, a retry, the
    # sweeper after a broker outage), so each attempt joins the order's trace (eventbus/spans.py).
    # NULL: recorded with tracing off (no context at all), apart from an empty tracestate.
    traceparent = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    tracestate = models.CharField(max_length=512, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["occurred_at"]
        indexes = [models.Index(fields=["aggregate_type", "aggregate_id", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregate_type}#{self.aggregate_id} v{self.aggregate_version}"


class Delivery(models.Model):
    """One event delivered to one handler: its own status, attempts, retries and dead letter."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        RETRYING = "retrying"
        SUCCEEDED = "succeeded"
        DEAD = "dead"
        DISCARDED = "discarded"

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(max_length=200, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # attempts already used when staff last replayed it: a replay grants a fresh retry budget
    # while attempt numbers keep counting, so the history stays in order.
    attempts_before_replay = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # When a message for this delivery was last handed to the broker; NULL when none is out
    # (publishing failed, or a long retry waits in the row). The sweeper looks at it.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error_class = models.CharField(max_length=200, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "handler"], name="delivery_once_per_handler")]
        indexes = [
            # The sweeper's scan: only unfinished rows, so the index stays small.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_sweep_idx",
                condition=Q(status__in=["pending", "retrying"]),
            ),
            models.Index(fields=["lease_until"], name="delivery_lease_idx", condition=Q(status="running")),
            models.Index(fields=["status", "finished_at"], name="delivery_status_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery #{self.pk} {self.handler} ({self.status})"


class DeadLetter(Delivery):
    """Admin view of dead deliveries (a proxy: dead letters are deliveries with status dead)."""

    class Meta:
        proxy = True
        verbose_name = "dead letter"


class DeliveryAttempt(models.Model):
    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        LOST = "lost"  # the worker died or its lease ran out

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.FloatField(null=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error_class = models.CharField(max_length=200, blank=True)
    error_message = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    # When this failure scheduled the next attempt (NULL when it ended the delivery).
    retry_at = models.DateTimeField(null=True, blank=True)
    # What the handler reported about this attempt (e.g. a webhook's HTTP status, duration and
    # the first 1 KB of the response body); NULL when it reported nothing.
    detail = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery #{self.delivery_id}: {self.outcome}"
