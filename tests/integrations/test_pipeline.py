"""Through a real worker: a healthy receiver gets each event once while a broken one's breaker
opens, probes and closes; the broken one never delays or duplicates the healthy one."""

import pytest
from standardwebhooks import Webhook

from eventbus.models import Delivery
from integrations.models import WebhookSubscription
from tests.factories import make_order
from tests.integrations.helpers import subscribe
from tests.integrations.receiver import Answer
from tests.polling import wait_until

pytestmark = [pytest.mark.worker]

ORDERS = 6


def statuses(sub) -> list[str]:
    return list(
        Delivery.objects.filter(handler=sub.handler_name).order_by("pk").values_list("status", flat=True)
    )


def test_healthy_gets_each_event_once_while_the_broken_ones_breaker_opens_probes_and_closes(
    worker, receiver, receiver2
):
    placed = ["com.mariopizzeria.order.placed"]
    healthy, secret = subscribe(receiver.url, name="healthy", content_mode="binary", event_types=placed)
    broken, _ = subscribe(receiver2.url, name="broken", event_types=placed)
    receiver2.default = Answer(503, body=b"down for maintenance")

    for _ in range(ORDERS):
        make_order()

    # The broken receiver fails 3 times in a row (the test threshold): its breaker opens.
    wait_until(
        lambda: WebhookSubscription.objects.get(pk=broken.pk).circuit_state == "open",
        timeout=30,
        message="the broken subscription's breaker to open",
    )
    wait_until(
        lambda: set(statuses(healthy)) == {"succeeded"},
        timeout=30,
        message="every healthy delivery to succeed",
    )
    healthy_deliveries = Delivery.objects.filter(handler=healthy.handler_name)
    event_ids = {str(e) for e in healthy_deliveries.values_list("event_id", flat=True)}
    assert len(event_ids) == ORDERS
    assert set(healthy_deliveries.values_list("attempts", flat=True)) == {1}
    seen = [r.headers["webhook-id"] for r in receiver.requests]
    assert sorted(seen) == sorted(event_ids)  # each event exactly once
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers, json_parse=False)
    assert "dead" not in statuses(broken)
    opened_mail = Delivery.objects.filter(handler="notifications.handlers.email_webhook_circuit_opened")
    assert opened_mail.count() == 1

    # The receiver comes back: after the cool-down a probe succeeds, the breaker closes and every
    # waiting delivery is sent.
    receiver2.default = Answer(200)
    try:
        wait_until(
            lambda: set(statuses(broken)) == {"succeeded"},
            timeout=40,
            message="every broken delivery to succeed after the probe",
        )
    except AssertionError:
        raise AssertionError(
            list(
                Delivery.objects.filter(handler=broken.handler_name).values_list(
                    "status", "attempts", "last_error"
                )
            )
        ) from None
    assert WebhookSubscription.objects.get(pk=broken.pk).circuit_state == "closed"
    ok = [r.headers["webhook-id"] for r in receiver2.requests]
    broken_ids = {
        str(e)
        for e in Delivery.objects.filter(handler=broken.handler_name).values_list("event_id", flat=True)
    }
    assert set(ok) == broken_ids
    # the healthy one got nothing more meanwhile
    assert len(receiver.requests) == ORDERS
