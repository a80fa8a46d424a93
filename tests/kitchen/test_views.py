"""The kitchen and dispatch displays, the SSE stream and the admin, through Django's test client."""

from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.management import call_command
from django.test import AsyncClient

from kitchen import services
from kitchen.models import Ingredient, PurchaseOrder, RecipeLine
from orders.models import Order
from pizzeria.livehub import close_hub
from tests.capture import capture_events
from tests.factories import make_customer, make_role_user
from tests.kitchen.conftest import KITCHEN_HANDLERS, one_margherita
from tests.kitchen.test_handlers import place, ticket

pytestmark = pytest.mark.django_db


def staff(role: str):
    return make_role_user(role)


@pytest.fixture
def cook_client(client):
    client.force_login(staff("cook"))
    return client


def test_anonymous_is_sent_to_login_and_customers_get_403(client):
    for url in ("/kitchen/", "/kitchen/dispatch/", "/kitchen/events/", "/kitchen/board/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next="), url
    client.force_login(make_customer().user)
    for url in ("/kitchen/", "/kitchen/dispatch/", "/kitchen/events/"):
        assert client.get(url).status_code == 403, url


def test_a_driver_group_member_without_is_staff_sees_the_pages(client):
    client.force_login(make_role_user("driver", username="dan", is_staff=False))
    assert client.get("/kitchen/dispatch/").status_code == 200


def test_board_shows_tickets_in_columns_with_items_and_shortages(cook_client, kitchen_menu, settings):
    settings.KITCHEN_CAPACITY = 1
    kitchen_menu["mushrooms"].quantity_on_hand = Decimal("10")
    kitchen_menu["mushrooms"].save()
    cooking = place(
        kitchen_menu, items=one_margherita(kitchen_menu, size="large", quantity=2, toppings=["mushrooms"])
    )
    queued = place(kitchen_menu)

    html = cook_client.get("/kitchen/").content.decode()

    assert (
        'id="col-cooking"' in html
        and f'id="ticket-{cooking.pk}" data-order="{cooking.pk}" data-status="cooking"' in html
    )
    assert 'data-status="queued"' in html and f"#{queued.pk}" in html
    assert "2 × Large Margherita + mushrooms" in html
    assert "Short: 135 g Mushrooms" in html
    assert "Cooking (1 of 1)" in html


def test_start_at_capacity_is_refused_with_a_message(cook_client, kitchen_menu, settings):
    settings.KITCHEN_CAPACITY = 1
    place(kitchen_menu)
    queued = place(kitchen_menu)
    response = cook_client.post(f"/kitchen/tickets/{ticket(queued).pk}/start/", follow=True)
    assert "Start: Kitchen at capacity: 1 of 1 tickets cooking" in response.content.decode()
    assert ticket(queued).status == "queued"


def test_start_and_ready_buttons_call_the_services(cook_client, kitchen_menu, settings):
    settings.KITCHEN_CAPACITY = 1
    first = place(kitchen_menu)
    queued = place(kitchen_menu)
    with capture_events(only=KITCHEN_HANDLERS):
        response = cook_client.post(f"/kitchen/tickets/{ticket(first).pk}/ready/", follow=True)
    assert f"Order #{first.pk} is ready." in response.content.decode()
    assert (ticket(first).status, ticket(first).finished_by) == ("ready", "cook")
    assert ticket(queued).status == "cooking"  # OrderReady's handler filled the slot

    response = cook_client.post(f"/kitchen/tickets/{ticket(first).pk}/ready/", follow=True)
    assert "only cooking tickets can be ready" in response.content.decode()
    assert cook_client.get(f"/kitchen/tickets/{ticket(first).pk}/ready/").status_code == 405


def test_dispatch_sends_out_delivers_and_collects(client, kitchen_menu):
    delivery = place(kitchen_menu)
    pickup = place(kitchen_menu, fulfilment="pickup")
    for order in (delivery, pickup):
        services.ticket_mark_ready(ticket_id=ticket(order).pk, actor="cook")
    driver = staff("driver")
    client.force_login(driver)

    html = client.get("/kitchen/dispatch/").content.decode()
    assert f'id="dispatch-{delivery.pk}"' in html and "Out for delivery" in html and "Collected" in html

    client.post(f"/kitchen/dispatch/{delivery.pk}/send-out/", {"driver": "driver"})
    assert Order.objects.get(pk=delivery.pk).status == "out_for_delivery"
    assert (ticket(delivery).dispatch_status, ticket(delivery).driver) == ("out_for_delivery", "driver")
    client.post(f"/kitchen/dispatch/{delivery.pk}/delivered/")
    client.post(f"/kitchen/dispatch/{pickup.pk}/delivered/")
    assert [Order.objects.get(pk=o.pk).status for o in (delivery, pickup)] == ["delivered", "delivered"]
    response = client.post(f"/kitchen/dispatch/{pickup.pk}/send-out/", follow=True)
    assert "only delivery orders go out for delivery" in response.content.decode()


def test_event_stream_says_hello_then_relays_changes(settings):
    from kitchen.live import _publish

    settings.KITCHEN_SSE_MAX_SECONDS = 1.5
    cook = staff("cook")

    async def scenario() -> bytes:
        client = AsyncClient()
        await client.aforce_login(cook)
        try:
            response = await client.get("/kitchen/events/")
            assert response["Content-Type"] == "text/event-stream" and response["Cache-Control"] == "no-cache"
            chunks = aiter(response.streaming_content)  # type: ignore[attr-defined]  # a StreamingHttpResponse
            body = b""
            while b"event: hello" not in body:
                body += await anext(chunks)
            await sync_to_async(_publish)('{"order_id": 7, "reason": "test"}')
            async for chunk in chunks:  # the stream ends after KITCHEN_SSE_MAX_SECONDS
                body += chunk
            return body
        finally:
            await close_hub()

    body = async_to_sync(scenario)()
    assert b'event: changed\ndata: {"order_id": 7, "reason": "test"}' in body


def test_seed_kitchen_is_idempotent_and_covers_the_seeded_menu():
    call_command("seed", no_users=True)
    call_command("seed_kitchen")
    dough = Ingredient.objects.get(name="Pizza dough")
    dough.adjust(Decimal("-100"))
    dough.save()
    counts = (Ingredient.objects.count(), RecipeLine.objects.count())
    call_command("seed_kitchen")
    assert (Ingredient.objects.count(), RecipeLine.objects.count()) == counts
    assert Ingredient.objects.get(name="Pizza dough").quantity_on_hand == Decimal("24900")  # stock kept
    assert RecipeLine.objects.filter(pizza__name="Capricciosa").count() == 8
    assert not RecipeLine.objects.filter(pizza__isnull=True, topping__isnull=True).exists()


def test_admin_low_stock_filter_and_mark_received(admin_client, kitchen_menu):
    dough = kitchen_menu["dough"]
    dough.adjust(-dough.quantity_on_hand)
    dough.save()
    po = PurchaseOrder.objects.create(ingredient=dough, quantity=Decimal("5000"))

    html = admin_client.get("/admin/kitchen/ingredient/?stock=low").content.decode()
    assert "Pizza dough" in html and "Mozzarella" not in html

    response = admin_client.post(
        "/admin/kitchen/purchaseorder/", {"action": "mark_received", "_selected_action": [po.pk]}, follow=True
    )
    assert "Received 5000 g of Pizza dough." in response.content.decode()
    dough.refresh_from_db()
    assert dough.quantity_on_hand == Decimal("5000")
    assert admin_client.get("/admin/kitchen/kitchenticket/").status_code == 200
