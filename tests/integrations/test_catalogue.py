"""The catalogue as a contract: opt-in public events, minimised PII, schemas enforced (the AsyncAPI
document: test_asyncapi.py)."""

import json
from pathlib import Path

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat

from eventbus.delivery import delivery_run
from eventbus.events import DomainEvent, event_class, event_types
from eventbus.models import Delivery, OutboxEvent
from eventbus.outbox import outbox_write
from eventbus.schema import InvalidEventPayload, schema_errors, validator_for
from integrations.catalogue import public_data_schema, public_event_classes
from kitchen.events import InventoryLow, SupplierInfo
from notifications.events import NotificationResendRequested
from orders.events import OrderPlaced
from tests.capture import capture_events
from tests.factories import advance_order, make_order
from tests.integrations.helpers import INTERNAL, deliveries_of, subscribe

pytestmark = pytest.mark.django_db

HERE = Path(__file__).resolve().parent / "asyncapi"


def test_events_are_internal_unless_they_opt_in():
    assert DomainEvent.public is False
    assert all(not cls.public for cls in INTERNAL)
    assert {cls.__name__ for cls in public_event_classes()} == {
        "OrderPlaced",
        "PaymentProcessed",
        "OrderCookingStarted",
        "OrderReady",
        "OrderOutForDelivery",
        "OrderDelivered",
        "OrderCancelled",
        "InventoryLow",
    }


def test_internal_events_never_get_a_webhook_delivery(receiver):
    sub, _ = subscribe(receiver.url)  # wants every public type
    internal = NotificationResendRequested(
        notification_id=1,
        requested_by="staff",
        aggregate_type="notification",
        aggregate_id="1",
        aggregate_version=1,
    )

    with capture_events(run_handlers=False):
        deliveries = outbox_write([internal])

    assert not any(d.handler.startswith("integrations.") for d in deliveries)
    assert deliveries_of(sub) == []


def test_contact_data_goes_only_to_subscriptions_allowed_it(receiver, receiver2):
    bare, _ = subscribe(receiver.url, event_types=[OrderPlaced.type])
    phone_only, _ = subscribe(
        receiver2.url, event_types=[OrderPlaced.type], contact_fields=["customer_phone"]
    )

    with capture_events(only=[bare.handler_name, phone_only.handler_name]):
        make_order(notes="ring twice, Ann")

    bare_data = json.loads(receiver.requests[0].body)["data"]
    allowed_data = json.loads(receiver2.requests[0].body)["data"]
    for name in ("customer_phone", "customer_email", "delivery_address", "notes"):
        assert name not in bare_data
    assert allowed_data["customer_phone"] == "+15005550006"
    assert "delivery_address" not in allowed_data and "notes" not in allowed_data
    assert bare_data["total_amount"] == allowed_data["total_amount"] == "31.18"


def test_every_public_event_sent_in_an_order_lifecycle_matches_its_published_schema(receiver):
    sub, _ = subscribe(
        receiver.url, contact_fields=["customer_phone", "customer_email", "delivery_address", "notes"]
    )

    with capture_events(only=[sub.handler_name]):
        advance_order(make_order(), "delivered")
        advance_order(make_order(fulfilment="pickup", delivery_address=""), "delivered")
        advance_order(make_order(), "cancelled")

    seen = set()
    for request in receiver.requests:
        ce = from_http(HTTPMessage(headers=request.headers, body=request.body), JSONFormat())
        schema = public_data_schema(event_class(ce.get_type()))
        assert schema_errors(validator_for(schema), ce.get_data()) is None, ce.get_type()
        seen.add(ce.get_type())
    assert len(seen) == 7  # all order types: placed, paid, cooking, ready, out, delivered, cancelled


def test_a_payload_that_breaks_its_schema_is_refused_when_recorded():
    bad = InventoryLow(
        ingredient_id="seven",  # an int in the catalogue
        ingredient_name="Basil",
        current_quantity="1",
        minimum_threshold="2",
        supplier_info=SupplierInfo(name="Greens", email="g@example.com", phone=""),
        aggregate_type="ingredient",
        aggregate_id="7",
        aggregate_version=1,
    )

    with pytest.raises(InvalidEventPayload, match=r'at ingredient_id: "seven" is not of type "integer"'):
        outbox_write([bad])
    assert not OutboxEvent.objects.filter(type=InventoryLow.type).exists()


def test_a_stored_payload_that_breaks_its_schema_is_dead_at_once_when_consumed():
    with capture_events(run_handlers=False):
        order = make_order()
    row = OutboxEvent.objects.get(type=OrderPlaced.type, aggregate_id=str(order.pk))
    payload = {**row.payload, "total_amount": 31.18}  # a float where the catalogue says a decimal string
    OutboxEvent.objects.filter(pk=row.pk).update(payload=payload)
    delivery = Delivery.objects.filter(event=row).first()

    assert delivery_run(delivery.pk) == "dead"
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert "does not match its schema at total_amount" in delivery.last_error


def test_the_human_catalogue_lists_every_event_with_fields_version_and_subscribers(
    admin_client, client, receiver
):
    sub, _ = subscribe(receiver.url, name="CRM sync", event_types=[OrderPlaced.type])

    page = admin_client.get("/api/events/").content.decode()

    for event_type, cls in event_types().items():
        if not cls.__module__.startswith("tests."):
            assert event_type in page
    assert "customer_phone" in page and "if allowed" in page
    assert "CRM sync" in page
    assert client.get("/api/events/").status_code == 302  # staff only
    from tests.factories import make_staff

    cook = make_staff(superuser=False)  # staff without the subscriptions permission
    client.force_login(cook)
    page = client.get("/api/events/").content.decode()
    assert OrderPlaced.type in page and "CRM sync" not in page
