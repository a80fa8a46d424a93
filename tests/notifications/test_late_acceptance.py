"""Issue 23, item 5: why a provider stub can count more accepted calls than the bus's attempt log.

A provider that accepts a message *after* the client's timeout (NOTIFY_HTTP_TIMEOUT) has sent it,
but the attempt records a timeout; the retry sends it again and that second message id is the one
the notification keeps. The stub counts two accepted calls for one notification and one successful
attempt; the first id is known nowhere in the system. This is at-least-once delivery to providers
without an idempotency key (Twilio, SendGrid), not a counting error of the stub.
"""

import pytest

from eventbus.models import DeliveryAttempt
from notifications.models import Notification
from tests.notifications.helpers import (
    SMS_CONFIRM,
    run_again,
)
from tests.notifications.test_faults import place
from tests.polling import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]


def test_an_acceptance_after_the_client_timeout_is_a_second_message_the_system_has_no_record_of(
    providers, settings
):
    providers.script("twilio", "timeout")  # answers 201 after 1.5 s; the client gives up after 0.5 s
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    assert delivery.status == "retrying"
    wait_until(lambda: "answered_at" in providers.of("twilio")[0], timeout=10, message="the late answer")

    assert run_again(delivery) == "succeeded"

    calls = providers.of("twilio")
    accepted = [c["message_id"] for c in calls if c.get("message_id")]
    assert len(accepted) == 2  # what the stub counts ...
    assert DeliveryAttempt.objects.filter(delivery=delivery, error_class="").count() == 1  # ... one success
    row = Notification.objects.get(channel="sms")
    assert row.status == "sent" and row.provider_message_id == accepted[1]
    assert not Notification.objects.filter(provider_message_id=accepted[0]).exists()
    # the stub's log tells the two apart: the first answer left after the client's timeout
    late = calls[0]
    assert late["answered_at"] - late["at"] > settings.NOTIFY_HTTP_TIMEOUT
    assert calls[1]["answered_at"] - calls[1]["at"] < settings.NOTIFY_HTTP_TIMEOUT
