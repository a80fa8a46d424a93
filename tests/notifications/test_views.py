"""Twilio's status callback: signed requests update the log, unsigned ones get 403."""

import uuid

import pytest
from twilio.request_validator import RequestValidator

from notifications.models import Notification
from tests.notifications.conftest import TWILIO_TOKEN

pytestmark = [pytest.mark.django_db]

URL = "/webhooks/twilio/status/"


@pytest.fixture
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.PUBLIC_BASE_URL = ""
    return settings


@pytest.fixture
def sent_sms():
    return Notification.objects.create(
        event_id=uuid.uuid4(),
        event_type="com.mariopizzeria.order.ready",
        order_id=1,
        channel="sms",
        template="order_ready",
        recipient="+15005550006",
        body="ready",
        status="sent",
        provider="twilio",
        provider_message_id="SM" + "a" * 32,
    )


def post(client, params, *, url=URL, signed_for="http://testserver" + URL, token=TWILIO_TOKEN):
    signature = RequestValidator(token).compute_signature(signed_for, params)
    return client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_signed_delivered_callback_marks_delivered(client, twilio_settings, sent_sms):
    response = post(
        client,
        {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "delivered", "AccountSid": "AC1"},
    )
    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert (sent_sms.status, sent_sms.provider_status) == ("delivered", "delivered")
    assert sent_sms.delivered_at is not None


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_signed_failure_callback_keeps_the_error_code(client, twilio_settings, sent_sms, status):
    response = post(
        client, {"MessageSid": sent_sms.provider_message_id, "MessageStatus": status, "ErrorCode": "30003"}
    )
    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert (sent_sms.status, sent_sms.last_error_code) == (status, "30003")
    assert sent_sms.accepted  # accepted by Twilio once: never sent again automatically


def test_late_sent_callback_does_not_undo_delivered(client, twilio_settings, sent_sms):
    post(client, {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "delivered"})
    post(client, {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "sent"})
    sent_sms.refresh_from_db()
    assert sent_sms.status == "delivered" and sent_sms.provider_status == "sent"


def test_invalid_signature_is_403_and_changes_nothing(client, twilio_settings, sent_sms):
    response = post(
        client,
        {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "delivered"},
        token="not-the-token",
    )
    assert response.status_code == 403
    response = client.post(URL, {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "delivered"})
    assert response.status_code == 403
    sent_sms.refresh_from_db()
    assert sent_sms.status == "sent"


def test_signature_checked_against_public_base_url_behind_a_proxy(client, twilio_settings, sent_sms):
    twilio_settings.PUBLIC_BASE_URL = "https://pizza.example"
    params = {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "delivered"}
    assert post(client, params).status_code == 403  # signed for the internal URL
    assert post(client, params, signed_for="https://pizza.example" + URL).status_code == 204


def test_unknown_message_is_acknowledged(client, twilio_settings):
    assert post(client, {"MessageSid": "SMunknown", "MessageStatus": "delivered"}).status_code == 204


def test_get_is_not_allowed(client, twilio_settings):
    assert client.get(URL).status_code == 405


def test_an_overlong_status_or_error_code_is_kept_cut_not_a_500(client, twilio_settings, sent_sms):
    # Signed, so from Twilio (or whoever holds the token); the row's fields are 30 characters, and
    # the same update applies the status Twilio's message list gives after an unknown outcome.
    response = post(
        client,
        {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "x" * 100, "ErrorCode": "9" * 100},
    )
    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.provider_status == "x" * 30 and sent_sms.status == "sent"
    post(
        client,
        {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "failed", "ErrorCode": "9" * 100},
    )
    sent_sms.refresh_from_db()
    assert (sent_sms.status, sent_sms.last_error_code) == ("failed", "9" * 30)
