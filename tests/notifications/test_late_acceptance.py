"""Issue 23, item 5: a provider that accepts a message after the client gave up sends it once.

The cause of the extra accepted calls the stub counted: a provider accepts a message *after* the
client's timeout (NOTIFY_HTTP_TIMEOUT); the attempt recorded a timeout, the retry sent the message
again, and the customer got two. Now a send that left without an answer is an *unknown* outcome
(ProviderOutcomeUnknown, Notification.unknown_since): the next attempt first asks Twilio for the
messages it holds to that number since then (GET Messages.json) and keeps the one it finds. A
definite failure (an error answer, no connection) is retried without asking; when Twilio cannot be
asked, nothing is sent. E-mail has no lookup: it is sent again, marked as the same message.
"""

import pytest
from django.utils import timezone

from eventbus.models import DeliveryAttempt
from notifications.channels import OutgoingMessage
from notifications.channels import sms as sms_channel
from notifications.models import Notification
from notifications.services import _attempt
from tests.notifications.conftest import TWILIO_FROM
from tests.notifications.helpers import EMAIL_CONFIRM, SMS_CONFIRM, run_again
from tests.notifications.test_faults import place
from tests.polling import wait_until
from tests.worker import free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

UNKNOWN = "notifications.channels.base.ProviderOutcomeUnknown"
TRANSIENT = "notifications.channels.base.ProviderTransientError"


def accepted(stub, provider="twilio"):
    return [c["message_id"] for c in stub.of(provider) if c.get("message_id")]


def attempts(delivery):
    return list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("error_class", "detail"))


def answered(stub, provider="twilio"):
    """The stub's late answer has left (or the lost request was dropped): nothing is in flight."""
    wait_until(
        lambda: all("answered_at" in c for c in stub.of(provider)), timeout=10, message="the late answer"
    )


def test_an_sms_accepted_after_the_client_timeout_is_found_and_not_sent_again(providers, settings):
    providers.script("twilio", "timeout")  # accepted at once, answered after 1.5 s; the client waits 0.5 s
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    assert delivery.status == "retrying"
    row = Notification.objects.get(channel="sms")
    assert row.status == "failed" and row.unknown_since is not None and row.unknown_outcomes == 1
    assert attempts(delivery) == [(UNKNOWN, {"outcome": "unknown", "provider": "twilio"})]
    answered(providers)

    assert run_again(delivery) == "succeeded"

    [first] = accepted(providers)  # the stub took exactly one message ...
    assert len(providers.of("twilio")) == 1  # ... and the retry sent none
    [lookup] = providers.lookups()
    assert lookup["path"] == f"/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json"
    assert lookup["query"]["To"] == row.recipient and lookup["query"]["From"] == TWILIO_FROM
    assert lookup["query"]["DateSent>"] < row.unknown_since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert lookup["found"] == [first]
    row.refresh_from_db()
    assert row.status == "sent" and row.provider == "twilio" and row.provider_message_id == first
    assert row.reconciled_at is not None
    # the stub's log still shows why: the first answer left after the client's timeout
    late = providers.of("twilio")[0]
    assert late["answered_at"] - late["at"] > settings.NOTIFY_HTTP_TIMEOUT


def test_an_sms_the_provider_never_took_is_sent_once_after_the_lookup(providers):
    providers.script("twilio", "lost")  # no message, no answer: the client times out
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    assert delivery.status == "retrying"
    assert Notification.objects.get(channel="sms").unknown_outcomes == 1
    answered(providers)

    assert run_again(delivery) == "succeeded"

    assert len(providers.of("twilio")) == 2
    [sent] = accepted(providers)
    assert [lookup["found"] for lookup in providers.lookups()] == [[]]
    row = Notification.objects.get(channel="sms")
    assert row.status == "sent" and row.provider_message_id == sent and row.reconciled_at is None


@pytest.mark.parametrize("definite", ["503", "connection refused"])
def test_a_definite_failure_is_retried_without_a_lookup(providers, settings, definite):
    if definite == "503":
        providers.script("twilio", (503, None))
    else:
        settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{free_port()}"
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    assert delivery.status == "retrying"
    row = Notification.objects.get(channel="sms")
    assert row.unknown_since is None and row.unknown_outcomes == 0
    assert [error for error, _ in attempts(delivery)] == [TRANSIENT]

    settings.TWILIO_API_BASE_URL = providers.url
    assert run_again(delivery) == "succeeded"

    assert providers.lookups() == []
    [sent] = accepted(providers)
    assert Notification.objects.get(channel="sms").provider_message_id == sent


def test_a_gateway_timeout_is_an_unknown_outcome(providers):
    providers.script("twilio", (504, None))
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    assert [error for error, _ in attempts(delivery)] == [UNKNOWN]

    assert run_again(delivery) == "succeeded"
    assert len(providers.lookups()) == 1 and len(accepted(providers)) == 1


def test_when_twilio_cannot_be_asked_nothing_is_sent_until_it_can(providers):
    providers.script("twilio", "timeout")
    providers.script("twilio-list", (500, None))
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    answered(providers)

    # the lookup fails: the attempt fails, nothing is sent
    assert run_again(delivery) == "retrying"
    assert len(providers.of("twilio")) == 1 and len(providers.lookups()) == 1
    row = Notification.objects.get(channel="sms")
    assert row.status == "failed" and row.provider_message_id == ""
    assert "could not ask whether the message was accepted" in row.last_error
    assert attempts(delivery)[-1] == (TRANSIENT, {"outcome": "lookup failed", "provider": "twilio"})

    # the next attempt asks again, finds the late message and keeps it
    assert run_again(delivery) == "succeeded"
    [first] = accepted(providers)
    assert len(providers.of("twilio")) == 1 and len(providers.lookups()) == 2
    assert Notification.objects.get(channel="sms").provider_message_id == first


def test_the_lookup_pages_back_to_the_first_unknown_attempt(providers, monkeypatch):
    """Twilio lists newest first: later messages to the same number push ours off the first page."""
    monkeypatch.setattr(sms_channel, "LOOKUP_PAGE_SIZE", 2)
    providers.script("twilio", "timeout")
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    row = Notification.objects.get(channel="sms")
    answered(providers)
    for n in range(5):
        sms_channel.send(OutgoingMessage(notification_id=0, recipient=row.recipient, body=f"other {n}"))

    assert run_again(delivery) == "succeeded"

    first = providers.of("twilio")[0]["message_id"]
    assert len(providers.of("twilio")) == 6  # ours and the five others: ours not sent again
    assert [len(lookup["found"]) for lookup in providers.lookups()] == [2, 2, 2]
    assert Notification.objects.get(pk=row.pk).provider_message_id == first


def test_a_message_another_notification_holds_is_not_claimed(providers):
    """Twilio lists an earlier identical message (a resend's original): not this row's."""
    _, captured = place()
    original = Notification.objects.get(channel="sms")
    copy = Notification.objects.create(
        event_id=original.event_id,
        event_type=original.event_type,
        channel="sms",
        template="resend",
        recipient=original.recipient,
        body=original.body,
        status="failed",
        unknown_since=timezone.now(),
        unknown_outcomes=1,
    )
    sent = _attempt(copy, event=captured.recorded[0])

    assert sent.status == "sent" and sent.provider_message_id != original.provider_message_id
    assert providers.lookups()[0]["found"] == [original.provider_message_id]
    assert len(accepted(providers)) == 2


def test_an_email_with_an_unknown_outcome_is_sent_again_as_the_same_message(providers):
    """SendGrid cannot be asked: at-least-once, each copy carrying the same Message-ID and ids."""
    providers.script("sendgrid", "timeout")
    _, captured = place(only=(EMAIL_CONFIRM,))
    delivery = captured.deliveries(EMAIL_CONFIRM)[0]
    assert delivery.status == "retrying"
    assert attempts(delivery) == [(UNKNOWN, {"outcome": "unknown", "provider": "sendgrid"})]
    answered(providers, "sendgrid")

    assert run_again(delivery) == "succeeded"

    row = Notification.objects.get(channel="email")
    first, second = providers.of("sendgrid")
    assert len(accepted(providers, "sendgrid")) == 2  # the stub's count ...
    assert row.unknown_outcomes == 1 and row.provider_message_id == second["message_id"]  # ... reconciles
    assert providers.lookups() == []
    marks = [
        (c["body"]["headers"]["Message-ID"], c["body"]["personalizations"][0]["custom_args"])
        for c in (first, second)
    ]
    assert marks[0] == marks[1]
    message_id, custom_args = marks[0]
    assert message_id == f"<notification.{row.pk}.{row.event_id.hex}@mariospizzeria.example>"
    assert custom_args == {"notification_id": str(row.pk), "notification_ref": f"{row.pk}.{row.event_id.hex}"}


@pytest.mark.parametrize(
    ("listed", "error_code", "status"),
    [("delivered", None, "delivered"), ("undelivered", 30003, "undelivered"), ("sending", None, "sent")],
)
def test_a_found_sms_takes_the_status_twilio_lists_for_it(providers, listed, error_code, status):
    # Twilio's status callbacks for the message came while its sid was unknown here (the send timed
    # out) and were dropped: the lookup that finds the message reads where they had got to.
    providers.script("twilio", "timeout")
    _, captured = place()
    delivery = captured.deliveries(SMS_CONFIRM)[0]
    answered(providers)
    [sid] = accepted(providers)
    providers.message_status(sid, listed, error_code)

    assert run_again(delivery) == "succeeded"

    row = Notification.objects.get(channel="sms")
    assert row.provider_message_id == sid and row.reconciled_at is not None
    assert (row.status, row.provider_status) == (status, listed)
    assert (row.delivered_at is not None) is (status == "delivered")
    assert row.last_error_code == (str(error_code) if error_code else "")
