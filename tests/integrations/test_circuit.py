"""The circuit breaker per subscription: opens, postpones without spending attempts, probes, closes."""

import datetime as dt

import pytest
from django.utils import timezone

from eventbus.models import Delivery
from integrations.circuit import POSTPONED_CLASS, cooldown
from integrations.models import WebhookSubscription
from notifications.models import Notification
from tests.capture import EventCapture, capture_events
from tests.factories import make_order
from tests.integrations.helpers import deliveries_of, reload, run_now, subscribe
from tests.integrations.receiver import Answer

pytestmark = pytest.mark.django_db


def record_orders(n: int) -> EventCapture:
    with capture_events(run_handlers=False) as captured:
        for _ in range(n):
            make_order()
    return captured


def end_cooldown(sub: WebhookSubscription) -> None:
    WebhookSubscription.objects.filter(pk=sub.pk).update(
        circuit_retry_at=timezone.now() - dt.timedelta(seconds=1)
    )


def test_breaker_opens_after_n_failures_postpones_then_a_probe_closes_it(receiver, receiver2, settings):
    settings.WEBHOOKS_CIRCUIT_COOLDOWN = 60  # no cool-down ends by itself during the test
    broken, _ = subscribe(receiver.url, name="broken")
    healthy, _ = subscribe(receiver2.url, name="healthy")
    receiver.default = Answer(503)
    record_orders(5)

    for delivery in deliveries_of(broken):
        run_now(delivery)
    for delivery in deliveries_of(healthy):
        run_now(delivery)

    # given 3 failures (the test threshold) the breaker is open, the rest waited without a request
    broken = reload(broken)
    assert receiver.count() == 3
    assert broken.circuit_status() == "open"
    assert broken.consecutive_failures == 3
    assert "HTTP 503" in broken.last_error
    first3, last2 = deliveries_of(broken)[:3], deliveries_of(broken)[3:]
    assert [d.status for d in first3] == ["retrying"] * 3
    assert all(d.status == "retrying" and d.attempts == 0 for d in last2)  # postponed: nothing spent
    assert all(d.last_error_class == POSTPONED_CLASS for d in last2)
    assert all(d.next_attempt_at == broken.circuit_retry_at for d in last2)
    assert all(d.attempt_log.count() == 0 for d in last2)
    # the healthy subscriber got all five, once each
    assert receiver2.count() == 5
    assert [d.status for d in deliveries_of(healthy)] == ["succeeded"] * 5
    # the manager hears about it (an internal event with its e-mail delivery)
    opened = Delivery.objects.get(handler="notifications.handlers.email_webhook_circuit_opened")
    assert opened.event.payload["subscription_id"] == broken.pk
    assert run_now(opened) == "succeeded"
    [notice] = Notification.objects.filter(template="webhook_circuit_opened")
    assert notice.recipient == settings.MANAGER_EMAIL
    assert "broken" in notice.subject and "HTTP 503" in notice.body

    # when the cool-down is over, the next delivery is the half-open probe
    end_cooldown(broken)
    assert reload(broken).circuit_status() == "half-open"
    receiver.default = Answer(200)
    assert run_now(last2[0]) == "succeeded"

    broken = reload(broken)
    assert broken.circuit_status() == "closed" and broken.consecutive_failures == 0
    assert reload(last2[0]).attempt_log.get().detail["probe"] is True
    # the other postponed delivery was made due at once (no waiting for its old time)
    released = reload(last2[1])
    assert released.next_attempt_at <= timezone.now()
    assert run_now(released) == "succeeded"
    assert receiver.count() == 5


def test_a_failed_probe_reopens_for_a_longer_cool_down(receiver, settings):
    settings.WEBHOOKS_CIRCUIT_COOLDOWN = 60
    settings.WEBHOOKS_CIRCUIT_COOLDOWN_MAX = 600
    sub, _ = subscribe(receiver.url)
    receiver.default = Answer(502)
    record_orders(4)
    deliveries = deliveries_of(sub)
    for delivery in deliveries[:3]:
        run_now(delivery)
    assert reload(sub).circuit_opens == 1

    end_cooldown(sub)
    before = timezone.now()
    run_now(deliveries[3])  # the probe: 502 again

    sub = reload(sub)
    assert receiver.count() == 4
    assert sub.circuit_status() == "open"
    assert sub.circuit_opens == 2
    assert sub.circuit_retry_at >= before + cooldown(2)
    assert cooldown(2) == 2 * cooldown(1)
    # only one e-mail: re-opening after a probe is not news
    assert Delivery.objects.filter(handler="notifications.handlers.email_webhook_circuit_opened").count() == 1


def test_a_4xx_answer_is_not_an_outage(receiver):
    sub, _ = subscribe(receiver.url)
    receiver.default = Answer(422)
    record_orders(4)

    for delivery in deliveries_of(sub):
        run_now(delivery)

    assert receiver.count() == 4
    assert [d.status for d in deliveries_of(sub)] == ["dead"] * 4
    assert reload(sub).circuit_status() == "closed"


def test_admin_closing_the_circuit_releases_postponed_deliveries(receiver, admin_client, settings):
    settings.WEBHOOKS_CIRCUIT_COOLDOWN = 60
    sub, _ = subscribe(receiver.url)
    receiver.default = Answer(503)
    record_orders(4)
    for delivery in deliveries_of(sub):
        run_now(delivery)
    postponed = deliveries_of(sub)[3]
    assert reload(postponed).last_error_class == POSTPONED_CLASS

    response = admin_client.post(
        "/admin/integrations/webhooksubscription/",
        {"action": "close_circuit", "_selected_action": [sub.pk]},
    )

    assert response.status_code == 302
    assert reload(sub).circuit_status() == "closed"
    assert reload(postponed).next_attempt_at <= timezone.now()
    page = admin_client.get("/admin/integrations/webhooksubscription/").content.decode()
    assert "closed" in page


@pytest.mark.django_db(transaction=True)
def test_half_open_lets_one_probe_through_at_a_time(receiver, settings):
    import threading

    from django.db import connections

    settings.WEBHOOKS_CIRCUIT_COOLDOWN = 60
    settings.WEBHOOKS_TIMEOUT = 10  # the probe waits for the test's go-ahead
    sub, _ = subscribe(receiver.url)
    release = threading.Event()
    receiver.default = Answer(503)
    with capture_events(run_handlers=False):  # nothing reaches a broker from this test
        record_orders(5)
        deliveries = deliveries_of(sub)
        for delivery in deliveries[:3]:
            run_now(delivery)
        assert reload(sub).circuit_status() == "open"
        end_cooldown(sub)

        def slow_success(request):
            release.wait(timeout=10)
            return Answer(200)

        receiver.answer_with = slow_success
        outcome = {}

        def probe():
            try:
                outcome["probe"] = run_now(deliveries[3])
            finally:
                connections.close_all()

        thread = threading.Thread(target=probe)
        thread.start()
        from tests.polling import wait_until

        wait_until(lambda: receiver.count() == 4, timeout=10, message="the probe's request")
        # while the probe is in flight, another delivery of the same subscription waits
        assert run_now(deliveries[4]) == "postponed"
        assert "probe is in flight" in reload(deliveries[4]).last_error
        release.set()
        thread.join(timeout=10)

    assert outcome["probe"] == "succeeded"
    assert receiver.count() == 4
    assert reload(sub).circuit_status() == "closed"
    assert reload(deliveries[4]).next_attempt_at <= timezone.now()  # released by the closing probe
