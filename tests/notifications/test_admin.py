"""The notification log admin: filters, search, and "resend" through the bus."""

import uuid

import pytest
from django.urls import reverse

from eventbus.models import Delivery, OutboxEvent
from notifications.models import Notification
from tests.capture import capture_events
from tests.factories import make_staff
from tests.notifications.helpers import RESEND

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "admin:notifications_notification_changelist"


def notification(**fields) -> Notification:
    defaults = dict(
        event_id=uuid.uuid4(),
        event_type="com.mariopizzeria.order.ready",
        order_id=77,
        channel="sms",
        template="order_ready",
        recipient="+15005550006",
        body="Your pizza is ready!",
        status="dead",
        provider="twilio",
        last_error_code="21211",
    )
    defaults.update(fields)
    return Notification.objects.create(**defaults)


@pytest.fixture
def staff_client(client):
    client.force_login(make_staff())
    return client


def test_changelist_filters_and_searches(staff_client):
    sms = notification()
    email = notification(channel="email", recipient="ada@example.com", order_id=78, status="sent")
    url = reverse(CHANGELIST)

    page = staff_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for title in ("By channel", "By status", "By template", "By created at"):
        assert title in html

    def ids(**query):
        response = staff_client.get(url, query)
        assert response.status_code == 200
        return {n.pk for n in response.context["cl"].result_list}

    assert ids(channel__exact="email") == {email.pk}
    assert ids(status__exact="dead") == {sms.pk}
    assert ids(q="+15005550006") == {sms.pk}
    assert ids(q="ada@example.com") == {email.pk}
    assert ids(q="78") == {email.pk}


def test_detail_page_is_read_only(staff_client):
    row = notification()
    response = staff_client.get(reverse("admin:notifications_notification_change", args=[row.pk]))
    assert response.status_code == 200
    assert b'name="status"' not in response.content


def test_resend_goes_through_the_bus_as_a_new_notification(staff_client, no_providers):
    original = notification(status="sent")
    # when
    with capture_events(only=[RESEND]) as captured:
        response = staff_client.post(
            reverse(CHANGELIST), {"action": "resend", "_selected_action": [original.pk]}, follow=True
        )
    # then
    assert response.status_code == 200 and "Resend requested for 1" in response.content.decode()
    [event] = OutboxEvent.objects.filter(type="com.mariopizzeria.notification.resend_requested")
    assert event.payload["notification_id"] == original.pk and event.payload["requested_by"].startswith(
        "staff"
    )
    assert [d.status for d in captured.deliveries(RESEND)] == [Delivery.Status.SUCCEEDED]
    resent = Notification.objects.get(resend_of=original)
    assert (resent.recipient, resent.body, resent.status, resent.event_id) == (
        original.recipient,
        original.body,
        "logged",
        event.event_id,
    )
