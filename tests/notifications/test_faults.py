"""Provider faults from a scripted local stub, through the real SDKs, handlers and delivery code."""

import pytest
from django.utils import timezone

from eventbus.models import Delivery, DeliveryAttempt
from eventbus.services import delivery_replay
from notifications.models import Notification
from tests.capture import capture_events
from tests.factories import advance_order, make_customer, make_order
from tests.notifications.helpers import (
    EMAIL_CONFIRM,
    SMS_CONFIRM,
    SMS_READY,
    redeliver,
    run_again,
    run_until_settled,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

INVALID_TO = (
    400,
    {
        "code": 21211,
        "message": "The 'To' number +15005550001 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    },
)


def place(only=(SMS_CONFIRM,), **kwargs):
    with capture_events(only=list(only)) as captured:
        order = make_order(**kwargs)
    return order, captured


def test_two_server_errors_then_accepted_sends_once_after_retries(providers, settings):
    providers.script("twilio", (500, None), (503, None), (201, None))
    # when
    order, captured = place()
    delivery = run_until_settled(captured.deliveries(SMS_CONFIRM)[0])
    # then
    assert delivery.status == "succeeded" and delivery.attempts == 3
    assert len(providers.of("twilio")) == 3
    row = Notification.objects.get(channel="sms")
    assert row.status == "sent" and row.provider == "twilio" and row.provider_message_id.startswith("SM")
    assert row.attempts == 3  # survived the two rolled-back attempts: the log is durable
    outcomes = list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("error_class", flat=True))
    assert outcomes[:2] == ["notifications.channels.base.ProviderTransientError"] * 2
    sent = providers.of("twilio")[-1]
    assert sent["body"]["To"] == "+15005550006" and sent["body"]["From"] == "+15005550006"
    assert f"Order #{order.pk}" in sent["body"]["Body"]
    assert sent["path"] == f"/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json"


def test_rate_limited_is_retried(providers):
    providers.script("twilio", (429, {"code": 20429, "message": "Too Many Requests", "status": 429}))
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]

    assert delivery.status == "retrying"
    row = Notification.objects.get(channel="sms")
    assert (row.status, row.last_error_code) == ("failed", "20429")

    assert run_again(delivery) == "succeeded"
    assert len(providers.of("twilio")) == 2
    assert Notification.objects.get(channel="sms").status == "sent"


def test_timeout_is_retried(providers):
    providers.script("twilio", "timeout")
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]

    assert delivery.status == "retrying"
    assert "Timeout" in Notification.objects.get(channel="sms").last_error
    assert run_again(delivery) == "succeeded"


def test_connection_refused_is_retried(providers, settings):
    from tests.worker import free_port

    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{free_port()}"
    _, captured = place()
    assert captured.deliveries(SMS_CONFIRM)[0].status == "retrying"


def test_invalid_number_is_dead_at_once_with_email_fallback(providers):
    providers.script("twilio", INVALID_TO)
    customer = make_customer(phone="+15005550006", email="ada@example.com")
    # when
    order, captured = place(customer=customer)
    # then: no retry, a dead letter with the provider's code and message
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    assert delivery.status == "dead" and delivery.attempts == 1
    assert "21211" in delivery.last_error and "not a valid phone number" in delivery.last_error
    assert len(providers.of("twilio")) == 1
    sms = Notification.objects.get(channel="sms")
    assert (sms.status, sms.last_error_code) == ("dead", "21211")
    # and the same message went out by email, recorded as the SMS's fallback
    fallback = Notification.objects.get(channel="email")
    assert fallback.fallback_of == sms and fallback.status == "sent" and fallback.provider == "sendgrid"
    assert fallback.recipient == "ada@example.com" and fallback.provider_message_id.startswith("sg-")
    [mail] = providers.of("sendgrid")
    assert mail["body"]["personalizations"][0]["to"] == [{"email": "ada@example.com"}]
    assert f"Order #{order.pk}" in mail["body"]["subject"]

    # when staff replay the dead letter: no second SMS attempt, no second email
    delivery_replay(deliveries=[delivery])
    assert run_until_settled(delivery).status == "dead"
    assert len(providers.of("twilio")) == 1 and len(providers.of("sendgrid")) == 1


def test_fallback_and_confirmation_email_are_one_email(providers):
    providers.script("twilio", INVALID_TO)
    place(only=(SMS_CONFIRM, EMAIL_CONFIRM))
    # The SMS fallback and the confirmation email share (event, email, template, recipient).
    assert len(providers.of("sendgrid")) == 1
    assert Notification.objects.filter(channel="email").count() == 1


def test_same_event_delivered_twice_makes_one_provider_request(providers):
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    assert delivery.status == "succeeded"

    assert redeliver(delivery) == "succeeded"
    assert redeliver(delivery) == "succeeded"

    assert len(providers.of("twilio")) == 1
    assert Notification.objects.get().attempts == 1


def test_send_in_flight_elsewhere_is_not_repeated(providers):
    """A lease that expired mid-call: the second attempt backs off instead of sending again."""
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    Notification.objects.update(status="sending", provider_message_id="", sending_at=timezone.now())

    assert redeliver(delivery) == "retrying"
    assert len(providers.of("twilio")) == 1


def test_stale_send_from_a_dead_attempt_is_found_at_twilio_not_sent_again(providers, settings):
    """A worker died between the provider call and the "sent" write: an unknown outcome."""
    settings.NOTIFY_SENDING_STALE_SECONDS = 1
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    [sid] = [c["message_id"] for c in providers.of("twilio")]
    Notification.objects.update(
        status="sending", provider_message_id="", sending_at=timezone.now() - timezone.timedelta(seconds=5)
    )

    assert redeliver(delivery) == "succeeded"
    assert len(providers.of("twilio")) == 1 and len(providers.lookups()) == 1
    row = Notification.objects.get()
    assert row.status == "sent" and row.provider_message_id == sid and row.unknown_outcomes == 1
    assert row.reconciled_at is not None


def test_stale_email_from_a_dead_attempt_is_sent_again(providers, settings):
    """E-mail cannot be asked: at-least-once, recorded as an unknown outcome."""
    settings.NOTIFY_SENDING_STALE_SECONDS = 1
    _, captured = place(only=(EMAIL_CONFIRM,))
    delivery = captured.deliveries(EMAIL_CONFIRM)[0]
    Notification.objects.update(
        status="sending", provider_message_id="", sending_at=timezone.now() - timezone.timedelta(seconds=5)
    )

    assert redeliver(delivery) == "succeeded"
    assert len(providers.of("sendgrid")) == 2 and providers.lookups() == []
    row = Notification.objects.get()
    assert row.status == "sent" and row.unknown_outcomes == 1 and row.reconciled_at is None


def test_fallback_rejected_too_is_dead_with_both_errors(providers):
    providers.script("twilio", INVALID_TO)
    providers.script("sendgrid", (400, {"errors": [{"message": "invalid to"}]}))
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    assert delivery.status == "dead"
    assert "21211" in delivery.last_error and "email fallback was rejected too" in delivery.last_error
    assert set(Notification.objects.values_list("channel", "status")) == {("sms", "dead"), ("email", "dead")}


def test_sendgrid_server_error_retried_and_bad_request_permanent(providers):
    providers.script("sendgrid", (500, None), (400, {"errors": [{"message": "bad"}]}))
    _, captured = place(only=(EMAIL_CONFIRM,))
    delivery = captured.deliveries(EMAIL_CONFIRM)[0]
    assert delivery.status == "retrying"

    assert run_again(delivery) == "dead"
    delivery.refresh_from_db()
    assert "sendgrid HTTP 400" in delivery.last_error
    assert Notification.objects.get().status == "dead"


@pytest.mark.parametrize("status", [401, 403, 413])
def test_sendgrid_auth_and_size_errors_are_permanent(providers, status):
    providers.script("sendgrid", (status, None))
    _, captured = place(only=(EMAIL_CONFIRM,))
    assert captured.deliveries(EMAIL_CONFIRM)[0].status == "dead"


def test_missing_sender_is_a_permanent_configuration_error(providers, settings):
    settings.TWILIO_FROM_NUMBER = ""
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    assert delivery.status == "dead" and "TWILIO_FROM_NUMBER" in delivery.last_error
    assert providers.of("twilio") == []


def test_status_callback_url_sent_when_public_base_url_set(providers, settings):
    settings.PUBLIC_BASE_URL = "https://pizza.example"
    order = make_order(fulfilment="pickup")
    with capture_events(only=[SMS_READY]):
        advance_order(order, "ready")
    [sms] = providers.of("twilio")
    assert sms["body"]["StatusCallback"] == "https://pizza.example/webhooks/twilio/status/"
    assert Delivery.objects.filter(handler=SMS_READY, status="succeeded").count() == 1


def test_address_the_sdk_cannot_parse_is_permanent_without_a_request(providers):
    customer = make_customer()
    customer.email = "not an email address"
    customer.save()
    _, captured = place(only=(EMAIL_CONFIRM,), customer=customer)
    assert captured.deliveries(EMAIL_CONFIRM)[0].status == "dead"
    assert providers.of("sendgrid") == []


@pytest.mark.parametrize(
    "provider,handler,answer",
    [
        ("twilio", SMS_CONFIRM, (401, {"code": 20003, "message": "Authenticate", "status": 401})),
        (
            "sendgrid",
            EMAIL_CONFIRM,
            (401, {"errors": [{"message": "The provided authorization grant is invalid"}]}),
        ),
        ("sendgrid", EMAIL_CONFIRM, (403, {"errors": [{"message": "access forbidden"}]})),
    ],
)
def test_rejected_credentials_dead_letter_then_replay_after_the_fix_sends_once(
    providers, provider, handler, answer
):
    # given the provider refuses our key
    providers.script(provider, answer)
    order, captured = place(only=(handler,))
    delivery = captured.deliveries(handler)[0]

    # then the delivery is a dead letter at once, saying why, and nothing went out by another route
    delivery.refresh_from_db()
    assert delivery.status == "dead" and delivery.attempts == 1
    assert "provider rejected the credentials" in delivery.last_error
    channel = "sms" if provider == "twilio" else "email"
    row = Notification.objects.get(order_id=order.pk, channel=channel)
    assert row.status == "failed" and not row.provider_message_id
    assert Notification.objects.filter(order_id=order.pk).count() == 1  # no fallback
    assert len(providers.of(provider)) == 1

    # when the key is fixed (the provider accepts again) and staff replay the dead letter
    providers.script(provider)  # back to the default: accepted
    assert delivery_replay(deliveries=[delivery], actor="ops") == 1
    assert run_again(delivery) == "succeeded"

    # then the message is sent exactly once, on the same log row
    row.refresh_from_db()
    assert row.status == "sent" and row.provider_message_id
    assert len(providers.of(provider)) == 2
    assert redeliver(delivery) == "succeeded"  # a duplicate message after that sends nothing
    assert len(providers.of(provider)) == 2
