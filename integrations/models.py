from __future__ import annotations

import datetime as dt
import socket

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from eventbus.aggregate import AggregateRoot
from eventbus.cloudevents import BINARY, STRUCTURED
from integrations import outbound
from integrations.catalogue import contact_field_names, public_event_types
from integrations.secrets import secret_decrypt, secret_encrypt, secret_hint

HANDLER_PREFIX = "integrations.webhook."


class WebhookSubscription(AggregateRoot):
    """An external receiver of public events: one bus delivery per (event, subscription)."""

    aggregate_type = "webhook_subscription"

    class ContentMode(models.TextChoices):
        STRUCTURED_MODE = STRUCTURED, "Structured (application/cloudevents+json)"
        BINARY_MODE = BINARY, "Binary (ce-* headers, data in the body)"

    class Circuit(models.TextChoices):
        CLOSED = "closed", "Closed"
        OPEN = "open", "Open"

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text="https://… (checked: public addresses only).")
    event_types = models.JSONField(
        default=list, blank=True, help_text="Public CloudEvents types to receive; empty = every public type."
    )
    contact_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="Customer contact fields this receiver may get (e.g. customer_phone); others are left out.",
    )
    content_mode = models.CharField(max_length=10, choices=ContentMode.choices, default=STRUCTURED)
    active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_reason = models.CharField(max_length=300, blank=True)

    # The signing secret, encrypted (secrets.py); only the hint is readable.
    secret_encrypted = models.TextField(editable=False)
    secret_hint = models.CharField(max_length=20, editable=False)
    # During a rotation the old secret signs too, until previous_secret_expires_at.
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The circuit breaker. Open + circuit_retry_at in the past = half-open: the next delivery
    # is the probe. Deliveries arriving while it is open are postponed, not spent.
    circuit_state = models.CharField(max_length=10, choices=Circuit.choices, default=Circuit.CLOSED)
    consecutive_failures = models.PositiveIntegerField(default=0)
    circuit_opened_at = models.DateTimeField(null=True, blank=True)
    circuit_retry_at = models.DateTimeField(null=True, blank=True)
    circuit_opens = models.PositiveIntegerField(
        default=0, help_text="Opens since it last closed (cool-down doubles)."
    )
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"

    @property
    def handler_name(self) -> str:
        return f"{HANDLER_PREFIX}{self.pk}"

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    # --- secrets -------------------------------------------------------------------------
    def secret_set(self, secret: str) -> None:
        self.secret_encrypted = secret_encrypt(secret)
        self.secret_hint = secret_hint(secret)

    def signing_secrets(self, now: dt.datetime | None = None) -> list[str]:
        """The current secret, then the previous one while its overlap window lasts."""
        now = now or timezone.now()
        secrets = [secret_decrypt(self.secret_encrypted)]
        if (
            self.previous_secret_encrypted
            and self.previous_secret_expires_at
            and self.previous_secret_expires_at > now
        ):
            secrets.append(secret_decrypt(self.previous_secret_encrypted))
        return secrets

    # --- circuit -------------------------------------------------------------------------
    def circuit_status(self, now: dt.datetime | None = None) -> str:
        if self.circuit_state == self.Circuit.CLOSED:
            return "closed"
        now = now or timezone.now()
        return "open" if self.circuit_retry_at and self.circuit_retry_at > now else "half-open"

    # --- validation ----------------------------------------------------------------------
    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        try:
            outbound.target_check(self.url)
        except outbound.TargetRefused as exc:
            errors["url"] = [str(exc)]
        except (socket.gaierror, OSError) as exc:
            errors["url"] = [f"The host does not resolve ({exc})"]
        unknown = sorted(set(self.event_types or []) - set(public_event_types()))
        if not isinstance(self.event_types, list) or unknown:
            errors["event_types"] = [
                f"Not public event types: {', '.join(map(str, unknown)) or self.event_types!r}"
            ]
        unknown_fields = sorted(set(self.contact_fields or []) - set(contact_field_names()))
        if not isinstance(self.contact_fields, list) or unknown_fields:
            errors["contact_fields"] = [f"Not contact fields: {', '.join(map(str, unknown_fields))}"]
        if errors:
            raise ValidationError(errors)


class InboundCloudEvent(models.Model):
    """A CloudEvent accepted at /cloudevents/: (source, id) is processed once."""

    source = models.CharField(max_length=500)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=200)
    body_sha256 = models.CharField(max_length=64)
    order_id = models.BigIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "inbound CloudEvent"
        constraints = [models.UniqueConstraint(fields=["source", "event_id"], name="inbound_cloudevent_once")]

    def __str__(self) -> str:
        return f"{self.type} {self.source} {self.event_id}"
