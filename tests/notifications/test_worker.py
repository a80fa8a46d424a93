"""End to end through a real worker subprocess whose SDKs point at the local provider stub."""

import pytest

from eventbus.models import Delivery
from eventbus.outbox import publish_deliveries
from notifications.models import Notification
from simulation.workerproc import queues_purge
from tests.factories import make_customer, make_order
from tests.notifications.conftest import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN
from tests.notifications.helpers import EMAIL_CONFIRM, SMS_CONFIRM
from tests.polling import wait_until
from tests.worker import make_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def notifications_worker(django_db_setup, django_db_blocker, provider_stub):
    queues_purge()
    worker = make_worker(
        # "events" too: the embedded beat's sweeper runs there and re-sends short retries.
        queues=("notifications", "events"),
        env={
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_FROM_NUMBER": TWILIO_FROM,
            "TWILIO_API_BASE_URL": provider_stub.url,
            "SENDGRID_API_KEY": "SG.worker-test",
            "SENDGRID_API_HOST": provider_stub.url,
            "PUBLIC_BASE_URL": "",
        },
    ).start()
    yield worker
    worker.stop()
    queues_purge()


@pytest.fixture
def worker_and_stub(notifications_worker, stub):
    queues_purge()
    if notifications_worker.proc.poll() is not None:
        pytest.fail(f"Worker died:\n{notifications_worker.log_tail()}")
    return notifications_worker, stub


def settled(handler: str, count: int):
    def check():
        rows = list(Delivery.objects.filter(handler=handler).values_list("status", flat=True))
        return len(rows) == count and all(s in ("succeeded", "dead") for s in rows) and rows

    return check


def test_placed_order_reaches_the_sms_provider_exactly_once(worker_and_stub):
    worker, stub = worker_and_stub
    # when
    order = make_order(customer=make_customer(phone="+15005550006"))
    # then
    wait_until(settled(SMS_CONFIRM, 1), message="SMS delivery settled")
    wait_until(lambda: len(stub.of("twilio")) == 1, message="one Twilio request")
    sms = Notification.objects.get(channel="sms")
    assert (
        sms.status == "sent"
        and sms.order_id == order.pk
        and f"Order #{order.pk}" in stub.of("twilio")[0]["body"]["Body"]
    )

    # a duplicate message for the same delivery, and a redelivery, do not send again
    delivery = Delivery.objects.get(handler=SMS_CONFIRM)
    publish_deliveries([(delivery.pk, delivery.handler)])
    Delivery.objects.filter(pk=delivery.pk).update(status="pending")
    publish_deliveries([(delivery.pk, delivery.handler)])
    wait_until(settled(SMS_CONFIRM, 1), message="redelivery settled")
    wait_until(lambda: Delivery.objects.get(pk=delivery.pk).attempts == 2, message="the redelivery ran")
    assert len(stub.of("twilio")) == 1


def test_twenty_orders_with_a_flaky_provider(worker_and_stub):
    worker, stub = worker_and_stub
    stub.script("twilio", (503, None), (429, {"code": 20429, "message": "Too Many Requests", "status": 429}))
    # when
    for _ in range(20):
        make_order()
    # then
    wait_until(settled(SMS_CONFIRM, 20), timeout=60, message="20 SMS deliveries settled")
    wait_until(settled(EMAIL_CONFIRM, 20), timeout=60, message="20 email deliveries settled")
    assert Delivery.objects.filter(handler__in=[SMS_CONFIRM, EMAIL_CONFIRM], status="succeeded").count() == 40
    assert Notification.objects.filter(status="sent").count() == 40
    # 20 accepted SMS plus the two scripted failures that were retried; 20 emails
    assert len(stub.of("twilio")) == 22
    assert len(stub.of("sendgrid")) == 20
    assert len({r["body"]["To"] for r in stub.of("twilio")}) == 1
    print(
        f"\n20-order run: twilio requests={len(stub.of('twilio'))} sendgrid requests={len(stub.of('sendgrid'))}"
    )
