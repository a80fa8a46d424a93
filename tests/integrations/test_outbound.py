"""Safe outbound HTTP: SSRF refusals at save and send time, no redirects, a deadline, a body cap."""

import pytest
from django.core.exceptions import ValidationError

from integrations import outbound
from tests.capture import capture_events
from tests.factories import make_order
from tests.integrations.helpers import deliveries_of, subscribe
from tests.integrations.receiver import Answer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://10.0.0.7/hook", "private"),
        ("http://192.168.1.20/hook", "private"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://[::ffff:10.0.0.7]/hook", "private"),
        ("http://0.0.0.0/hook", "unspecified"),
    ],
)
def test_never_allowed_targets_are_refused_even_with_private_targets_on(url, why):
    # Test settings open loopback only; nothing here is ever connected to.
    with pytest.raises(outbound.TargetRefused, match=why):
        outbound.target_check(url)
    with pytest.raises(ValidationError, match="public addresses"):
        subscribe(url)


def test_loopback_is_refused_when_private_targets_are_not_allowed(settings, receiver):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    for url in (receiver.url, f"http://localhost:{receiver.port}/hook", f"http://[::1]:{receiver.port}/hook"):
        with pytest.raises(ValidationError, match="loopback"):
            subscribe(url)
    assert receiver.count() == 0


def test_https_only_and_no_credentials_in_the_url(settings):
    settings.WEBHOOKS_HTTPS_ONLY = True
    with pytest.raises(outbound.TargetRefused, match="https"):
        outbound.target_check("http://example.com/hook", resolve=False)
    settings.WEBHOOKS_HTTPS_ONLY = False
    with pytest.raises(outbound.TargetRefused, match="credentials"):
        outbound.target_check("http://user:pw@127.0.0.1/hook")
    with pytest.raises(outbound.TargetRefused, match="http"):
        outbound.target_check("ftp://127.0.0.1/hook")


def test_the_target_is_checked_again_at_send_time(settings, receiver):
    sub, _ = subscribe(receiver.url)  # allowed when saved
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False  # e.g. DNS now points somewhere private

    with capture_events(only=[sub.handler_name]):
        make_order()

    [delivery] = deliveries_of(sub)
    assert delivery.status == "dead"
    assert "loopback" in delivery.last_error
    assert receiver.count() == 0


def test_a_receiver_that_drips_its_answer_is_cut_off_by_the_deadline(receiver):
    receiver.answer(Answer(drip_seconds=0.05))  # would take 10 s; the test deadline is 1 s

    with pytest.raises(outbound.DeadlineExceeded):
        outbound.post(receiver.url, body=b"{}", headers={}, deadline=0.5, max_body=1024)


def test_a_dripping_receiver_is_a_transient_failure_of_the_delivery(receiver):
    sub, _ = subscribe(receiver.url)
    receiver.answer(Answer(drip_seconds=0.05))

    with capture_events(only=[sub.handler_name]):
        make_order()

    [delivery] = deliveries_of(sub)
    assert delivery.status == "retrying"
    assert "DeadlineExceeded" in delivery.last_error


def test_only_the_first_bytes_of_a_large_answer_are_read(receiver):
    receiver.answer(Answer(200, body=b"x" * 5_000_000))

    response = outbound.post(receiver.url, body=b"{}", headers={}, deadline=2, max_body=1024)

    assert response.status == 200
    assert response.body == b"x" * 1024
