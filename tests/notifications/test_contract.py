"""Contract tests: the real Twilio and SendGrid SDKs, driven by the real handlers, against Prism
mocks of the providers' OpenAPI definitions (tests/notifications/providers, see its README)."""

import datetime as dt
import os

import pytest

from eventbus import PermanentError
from notifications.channels import OutgoingMessage, ProviderPermanentError
from notifications.channels import email as email_channel
from notifications.channels import sms as sms_channel
from notifications.models import Notification
from tests.capture import capture_events
from tests.factories import advance_order, make_customer, make_order
from tests.notifications import prism
from tests.notifications.conftest import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN
from tests.notifications.helpers import EMAIL_CONFIRM, SMS_CONFIRM, SMS_READY

pytestmark = [pytest.mark.contract, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def prism_mocks():
    reason = prism.node_missing_reason()
    if reason and os.environ.get("REQUIRE_CONTRACT_TESTS"):
        pytest.fail(f"REQUIRE_CONTRACT_TESTS is set but {reason}")
    if reason:
        pytest.skip(reason)
    prism.ensure_installed()
    mocks = {
        "twilio": prism.PrismMock("twilio_messages.json"),
        "sendgrid": prism.PrismMock("sendgrid_mail_send.json"),
    }
    try:
        for mock in mocks.values():
            mock.start()
        yield mocks
    finally:
        for mock in mocks.values():
            if mock.proc is not None:
                mock.stop()


@pytest.fixture
def at_prism(settings, prism_mocks):
    settings.TWILIO_ACCOUNT_SID = TWILIO_SID
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.TWILIO_FROM_NUMBER = TWILIO_FROM
    settings.TWILIO_API_BASE_URL = prism_mocks["twilio"].url
    settings.SENDGRID_API_KEY = "SG.contract-test"
    settings.SENDGRID_API_HOST = prism_mocks["sendgrid"].url
    settings.PUBLIC_BASE_URL = "https://pizza.example"
    return prism_mocks


def test_sms_confirmation_is_a_valid_twilio_request(at_prism):
    with capture_events(only=[SMS_CONFIRM]) as captured:
        make_order()
    assert [d.status for d in captured.deliveries(SMS_CONFIRM)] == ["succeeded"]
    row = Notification.objects.get(channel="sms")
    assert row.status == "sent" and row.provider == "twilio"
    assert row.provider_message_id.startswith("SM")  # the sid of the Message Prism answered


def test_ready_sms_with_status_callback_is_a_valid_twilio_request(at_prism):
    order = make_order(fulfilment="pickup")
    with capture_events(only=[SMS_READY]) as captured:
        advance_order(order, "ready")
    assert [d.status for d in captured.deliveries(SMS_READY)] == ["succeeded"]
    assert Notification.objects.get(template="order_ready").provider_message_id.startswith("SM")


def test_the_lookup_after_an_unknown_outcome_is_a_valid_twilio_request(at_prism, settings):
    """GET Messages.json with To, From, DateSent> and PageSize, as the SDK sends it; Prism answers
    its first example (a page of two: an outbound "testing" and an inbound message)."""
    settings.TWILIO_FROM_NUMBER = "+12019235161"  # the example's sender
    message = OutgoingMessage(notification_id=1, recipient="+18182008801", body="testing")
    since = dt.datetime(2019, 5, 24, 17, 44, tzinfo=dt.UTC)  # the example was created at 17:44:46

    found = sms_channel.find_sent(message, since=since)

    # Prism would have answered 422 to an invalid request (find_sent raises then).
    assert [(r.provider, r.message_id) for r in found] == [("twilio", "SMded05904ccb347238880ca9264e8fe1c")]
    later = sms_channel.find_sent(message, since=since + dt.timedelta(hours=1))
    assert later == []  # created before the window: not this message


def test_confirmation_email_is_a_valid_sendgrid_request(at_prism):
    with capture_events(only=[EMAIL_CONFIRM]) as captured:
        make_order()
    assert [d.status for d in captured.deliveries(EMAIL_CONFIRM)] == ["succeeded"]
    row = Notification.objects.get(channel="email")
    assert row.status == "sent" and row.provider == "sendgrid"
    # ... with the Message-ID header and custom_args that mark every copy of this notification.
    # The definition declares no X-Message-Id header, so Prism sends none: the id stays empty here
    # (the fault stub, which sends it, covers storing it).


def test_invalid_recipient_email_is_rejected_by_the_mock_and_dead(at_prism):
    customer = make_customer(email="valid@example.com")
    # The SDK accepts this address, the definition's "format: email" does not; saved without
    # the model's validation on purpose.
    customer.email = "ada@example..com"
    customer.save()
    with capture_events(only=[EMAIL_CONFIRM]) as captured:
        make_order(customer=customer)
    [delivery] = captured.deliveries(EMAIL_CONFIRM)
    assert delivery.status == "dead" and delivery.attempts == 1
    assert "sendgrid HTTP 400" in delivery.last_error
    assert Notification.objects.get(channel="email").status == "dead"


def test_invalid_email_payload_is_a_permanent_error(at_prism):
    payload = {
        "personalizations": [],
        "from": {"email": "orders@mariospizzeria.example"},
        "subject": 42,
        "content": [{"type": "text/plain", "value": "x"}],
    }
    with pytest.raises(ProviderPermanentError) as raised:
        email_channel.send_payload(payload)
    assert isinstance(raised.value, PermanentError) and raised.value.status == 400
