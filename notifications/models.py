"""The notification log: one row per (event, channel, template, recipient).

The row is written before the provider is called and updated after it, through
notifications.journal, so a redelivered or replayed event never sends a message twice once the
provider accepted it.
"""

from __future__ import annotations

from django.db import models

from eventbus.aggregate import AggregateRoot


class Notification(AggregateRoot):
    # An aggregate only so the admin's "resend" can record NotificationResendRequested and let
    # the bus deliver it (logged, retried and dead-lettered like every other handler).
    aggregate_type = "notification"

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        EMAIL = "email", "Email"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"  # claimed by an attempt; the provider call is in flight
        SENT = "sent", "Sent (accepted by the provider)"
        LOGGED = "logged", "Logged only (console, not sent to a provider)"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered (carrier)"
        FAILED = "failed", "Failed"  # an attempt failed (retried), or Twilio reported "failed"
        DEAD = "dead", "Dead (rejected by the provider)"
        SUPPRESSED = "suppressed", "Suppressed (not sent: recipient's hourly cap or region)"

    event_id = models.UUIDField(db_index=True)  # no FK: outbox rows are purged by retention
    event_type = models.CharField(max_length=200)
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    template = models.CharField(max_length=100, db_index=True)
    recipient = models.CharField(max_length=254, db_index=True)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    html_body = models.TextField(blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    provider = models.CharField(max_length=20, blank=True)  # twilio / sendgrid / console
    provider_message_id = models.CharField(max_length=100, blank=True, db_index=True)
    provider_status = models.CharField(max_length=30, blank=True)  # last status a callback reported
    attempts = models.PositiveIntegerField(default=0)
    last_error_code = models.CharField(max_length=30, blank=True)
    last_error = models.TextField(blank=True)
    # Exactly once after an unknown outcome (a request that left without an answer: timeout,
    # reset, a worker that died mid-call). unknown_since is when the first such attempt started:
    # every later attempt first asks the provider for a message sent since then (SMS), and keeps
    # it instead of sending again (reconciled_at); e-mail cannot be asked and is sent again.
    unknown_since = models.DateTimeField(null=True, blank=True)
    unknown_outcomes = models.PositiveIntegerField(default=0)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    fallback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="fallbacks"
    )
    resend_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends"
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("resend_notification", "Can resend a notification (sends a real SMS or e-mail)")]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "channel", "template", "recipient"], name="notification_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.template} to {self.recipient} ({self.status})"

    @property
    def accepted(self) -> bool:
        """The provider took it (or the console logged it): never send this row again."""
        return self.status in ACCEPTED or bool(self.provider_message_id)


ACCEPTED = (
    Notification.Status.SENT,
    Notification.Status.LOGGED,
    Notification.Status.DELIVERED,
    Notification.Status.UNDELIVERED,
)
