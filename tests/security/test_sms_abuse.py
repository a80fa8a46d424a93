"""SMS pumping and phishing by proxy: the pizzeria texts only numbers it may text, at most
SMS_PER_RECIPIENT_PER_HOUR times an hour each, and never with words a customer typed."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from eventbus.models import Delivery
from notifications.models import Notification
from orders.models import Order
from tests.capture import capture_events
from tests.factories import make_customer, make_menu, make_order
from tests.notifications.conftest import no_providers  # noqa: F401  (fixture)
from tests.notifications.helpers import EMAIL_CANCEL, SMS_CANCEL, SMS_CONFIRM

UK_MOBILE = "+44 7400 123456"
PHISH = "can't wait & visit http://evil.example"


def api_for(customer) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=customer.user)[0].key}")
    return api


def order_body(**extra) -> dict:
    menu = make_menu()
    return {
        "items": [{"pizza": menu["pizzas"]["Margherita"].pk, "size": "large"}],
        "fulfilment": "pickup",
        **extra,
    }


@pytest.mark.django_db
def test_an_order_phone_outside_the_allowed_regions_is_refused_with_a_clear_400():
    api = api_for(make_customer())

    response = api.post("/api/orders/", order_body(phone=UK_MOBILE), format="json")

    assert response.status_code == 400
    assert response.json()["phone"] == [
        "We can only send text messages to numbers in US; leave the phone empty or use such a number."
    ]
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_the_allowed_regions_are_a_setting(settings):
    settings.SMS_ALLOWED_REGIONS = ["US", "GB"]
    response = api_for(make_customer()).post("/api/orders/", order_body(phone=UK_MOBILE), format="json")
    assert response.status_code == 201 and response.json()["phone"] == "+447400123456"


@pytest.mark.django_db
def test_registering_with_a_phone_outside_the_allowed_regions_is_refused():
    body = {"username": "pumper", "password": "a-long-secret-1", "phone": UK_MOBILE}
    response = APIClient().post("/api/auth/register/", body, format="json")
    assert response.status_code == 400 and "numbers in US" in response.json()["phone"][0]


@pytest.mark.django_db
def test_one_override_number_is_refused_after_the_hourly_cap_whoever_orders(settings):
    settings.SMS_PER_RECIPIENT_PER_HOUR = 2
    victim = "+1 415 555 2671"
    codes = [
        api_for(make_customer(username=f"bomber{n}")).post(
            "/api/orders/", order_body(phone=victim), format="json"
        )
        for n in range(3)
    ]
    assert [r.status_code for r in codes] == [201, 201, 400]
    assert "2 orders in the last hour" in codes[2].json()["phone"][0]
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_the_profile_phone_is_not_an_override_and_not_capped_at_ordering(settings):
    settings.SMS_PER_RECIPIENT_PER_HOUR = 1
    customer = make_customer(phone="+14155552671")
    api = api_for(customer)
    assert [api.post("/api/orders/", order_body(), format="json").status_code for _ in range(2)] == [201, 201]


@pytest.mark.django_db(transaction=True)
def test_sms_past_the_hourly_cap_are_suppressed_not_sent(no_providers, settings):  # noqa: F811
    settings.SMS_PER_RECIPIENT_PER_HOUR = 2
    customer = make_customer(phone="+14155552671")

    with capture_events(only=[SMS_CONFIRM]) as captured:
        for _ in range(3):
            make_order(customer=customer)

    sms = list(Notification.objects.filter(channel="sms").order_by("pk"))
    assert [n.status for n in sms] == ["logged", "logged", "suppressed"]
    assert "cap 2" in sms[2].last_error and "+14155552671" not in sms[2].last_error
    assert all(
        d.status == Delivery.Status.SUCCEEDED for d in captured.deliveries(SMS_CONFIRM)
    )  # no dead letter


@pytest.mark.django_db(transaction=True)
def test_a_number_outside_the_regions_is_never_texted_whatever_path_put_it_there(no_providers):  # noqa: F811
    customer = make_customer(phone="+447400123456")  # a profile from before the region rule

    with capture_events(only=[SMS_CONFIRM]):
        make_order(customer=customer)

    sms = Notification.objects.get(channel="sms")
    assert sms.status == "suppressed" and "outside SMS_ALLOWED_REGIONS" in sms.last_error


@pytest.mark.django_db(transaction=True)
def test_a_customers_cancel_reason_never_reaches_the_sms_and_arrives_escaped_in_the_email(no_providers):  # noqa: F811
    customer = make_customer(email="ann@example.com")
    order = make_order(customer=customer)

    with capture_events(only=[SMS_CANCEL, EMAIL_CANCEL]):
        response = api_for(customer).post(f"/api/orders/{order.pk}/cancel/", {"reason": PHISH}, format="json")

    assert response.status_code == 200
    sms = Notification.objects.get(channel="sms", template="order_cancelled")
    email = Notification.objects.get(channel="email", template="order_cancelled")
    assert "evil.example" not in sms.body and "&" not in sms.body
    assert sms.body.startswith(f"Your order #{order.pk} at Mario's Pizzeria")  # an apostrophe, not &#x27;
    assert PHISH in email.body  # the plain-text part: as typed
    assert "can&#x27;t wait &amp; visit http://evil.example" in email.html_body
