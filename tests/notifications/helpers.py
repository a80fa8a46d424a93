"""Shared helpers: run one delivery through the bus's real delivery code until it settles."""

from __future__ import annotations

from django.utils import timezone

from eventbus.delivery import delivery_run
from eventbus.models import Delivery

H = "notifications.handlers."
SMS_CONFIRM = H + "sms_order_confirmation"
EMAIL_CONFIRM = H + "email_order_confirmation"
SMS_READY = H + "sms_order_ready"
SMS_OUT = H + "sms_out_for_delivery"
SMS_CANCEL = H + "sms_order_cancelled"
EMAIL_CANCEL = H + "email_order_cancelled"
RESEND = H + "resend_notification"
INVENTORY = H + "email_inventory_low"


def run_again(delivery: Delivery) -> str:
    """Run a retrying delivery now instead of waiting for its backoff."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    return delivery_run(delivery.pk, worker="test")


def run_until_settled(delivery: Delivery, *, max_runs: int = 10) -> Delivery:
    for _ in range(max_runs):
        delivery.refresh_from_db()
        if delivery.status in (Delivery.Status.SUCCEEDED, Delivery.Status.DEAD):
            return delivery
        run_again(delivery)
    delivery.refresh_from_db()
    return delivery


def redeliver(delivery: Delivery) -> str:
    """What a duplicate/replayed message does to a finished delivery: make it runnable, run it."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.PENDING, next_attempt_at=timezone.now()
    )
    return delivery_run(delivery.pk, worker="test")
